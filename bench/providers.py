"""Per-provider check of exported policies on this machine: does each onnxruntime provider
load, does it compute what the CPU computes, and how fast is one control step?

    python bench/providers.py POLICY.onnx [POLICY.onnx ...] [--steps 1000] [--json out.json]

For every policy and every provider setting (CPU; CUDA with TF32 off, the runtime's
default, and on; TensorRT FP32 and FP16) it builds the runtime's own `OnnxPolicy`, exactly
as `robot-ppo run` does, and reports:
- which provider really loaded (onnxruntime falls back to the CPU when a provider's
  libraries or device are missing; the runtime logs why);
- max |provider − CPU| of each output over a `--steps`-long batch-1 sequence, carrying a
  recurrent policy's state on both sides, so that drift through the state shows up;
- p50 / p99 latency of `OnnxPolicy.step`, measured in interleaved rounds with the CPU in
  the same process (shared machines are noisy: compare the ratio);
- which provider `--provider auto` picks.

Needs no torch and no PyBullet: it runs with the on-robot install (`pip install ".[robot]"`
from a clone, or `[gpu]` for onnxruntime-gpu; docs/deploy.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deploy.inference import OnnxPolicy
from deploy.providers import ProviderSettings

SETTINGS: dict[str, tuple[str, ProviderSettings]] = {
    "cpu": ("cpu", ProviderSettings()),
    "cuda (tf32 off)": ("cuda", ProviderSettings(cuda_tf32=False)),
    "cuda (tf32 on)": ("cuda", ProviderSettings(cuda_tf32=True)),
    "tensorrt fp32": ("tensorrt", ProviderSettings(trt_fp16=False)),
    "tensorrt fp16": ("tensorrt", ProviderSettings(trt_fp16=True)),
}
OUT_NAMES = ("targets", "mean", "std", "state")


def rollout(pol: OnnxPolicy, obs: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of every step of one batch-1 sequence (copies: step reuses buffers)."""
    pol.reset_state()
    rec: dict[str, list[np.ndarray]] = {k: [] for k in OUT_NAMES}
    for x in obs:
        t, m, s = pol.step(x)
        for k, v in zip(OUT_NAMES, (t, m, s, pol.state)):
            rec[k].append(v.copy())
    return {k: np.stack(v) for k, v in rec.items()}


def latency(pols: dict[str, OnnxPolicy], obs: np.ndarray, calls: int,
            rounds: int = 5) -> dict[str, dict[str, float]]:
    """p50/p99 µs of `step`, the providers interleaved round by round."""
    samples: dict[str, list[float]] = {k: [] for k in pols}
    for _ in range(rounds):
        for name, pol in pols.items():
            for i in range(calls // rounds + 50):
                t0 = time.perf_counter_ns()
                pol.step(obs[i % len(obs)])
                dt = time.perf_counter_ns() - t0
                if i >= 50:  # warm-up of this round
                    samples[name].append(dt / 1e3)
    return {k: {"p50_us": round(float(np.percentile(v, 50)), 1),
                "p99_us": round(float(np.percentile(v, 99)), 1)} for k, v in samples.items()}


def check_policy(path: Path, steps: int, calls: int, trt_cache: str) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    ref = OnnxPolicy(path, "cpu", log=lambda s: None, time_providers=False)
    obs = rng.normal(size=(steps, ref.obs_dim)).astype(np.float32)
    want = rollout(ref, obs)
    res: dict[str, Any] = {"policy": str(path), "obs_dim": ref.obs_dim,
                           "state_size": ref.state_size, "providers": {}}
    loaded: dict[str, OnnxPolicy] = {"cpu": ref}
    for label, (prov, settings) in SETTINGS.items():
        if label == "cpu":
            res["providers"][label] = {"loaded": "cpu", "max_abs_diff": dict.fromkeys(
                OUT_NAMES, 0.0)}
            continue
        logs: list[str] = []
        settings = replace(settings, trt_cache_dir=trt_cache)
        pol = OnnxPolicy(path, prov, settings, log=logs.append,  # type: ignore[arg-type]
                         time_providers=False)
        row: dict[str, Any] = {"loaded": pol.provider, "log": logs}
        if pol.provider == prov:
            got = rollout(pol, obs)
            row["max_abs_diff"] = {k: float(np.max(np.abs(got[k] - want[k])))
                                   for k in OUT_NAMES}
            loaded[label] = pol
        res["providers"][label] = row
    res["latency"] = latency(loaded, obs, calls)
    auto_log: list[str] = []
    auto = OnnxPolicy(path, "auto", ProviderSettings(trt_cache_dir=trt_cache),
                      log=auto_log.append)
    res["auto"] = {"picked": auto.provider, "log": auto_log}
    return res


def report(results: list[dict[str, Any]]) -> str:
    md = [f"onnxruntime {ort.__version__}, available: {', '.join(ort.get_available_providers())}"]
    for r in results:
        md += [f"\n## {r['policy']} (obs {r['obs_dim']}, state {r['state_size']})\n",
               "| provider setting | loaded | max abs diff vs CPU (targets / mean / std / state) "
               "| p50 µs | p99 µs |", "|---|---|---|---|---|"]
        for label, row in r["providers"].items():
            lat = r["latency"].get(label)
            diff = (" / ".join(f"{row['max_abs_diff'][k]:.1e}" for k in OUT_NAMES)
                    if "max_abs_diff" in row else "fell back: " + "; ".join(row["log"]))
            md.append(f"| {label} | {row['loaded']} | {diff} | "
                      f"{lat['p50_us'] if lat else '–'} | {lat['p99_us'] if lat else '–'} |")
        md.append(f"\n`--provider auto` picked **{r['auto']['picked']}**: "
                  + " ".join(r["auto"]["log"]))
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("policies", nargs="+", type=Path, help="exported .onnx policy files")
    ap.add_argument("--steps", type=int, default=1000, help="sequence length of the parity run")
    ap.add_argument("--calls", type=int, default=5000, help="timed steps per provider")
    ap.add_argument("--trt-cache", default="", help="TensorRT engine cache directory")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    results = [check_policy(p, args.steps, args.calls, args.trt_cache) for p in args.policies]
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps({"onnxruntime": ort.__version__,
                                         "available": ort.get_available_providers(),
                                         "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
