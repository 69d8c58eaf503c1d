"""Batch-1 policy inference latency: onnxruntime (run() and IO binding) vs torch eager vs
TorchScript, on the exported graph (normalizer + actor + action mapping).

    python bench/inference.py [--calls 10000] [--json out.json]

Models: the default cartpole actor (4 → 64 → 64 → 1, tanh, robot_ppo defaults) and a
legged-robot-sized actor (48 → 256 → 128 → 12, ELU). Every method runs the same module
(torch) or the same exported file (onnxruntime), one thread, in this one process, so the
ratios are measured under the same machine load. Goals: onnxruntime >= 3x torch eager,
p50 <= 10 µs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch

from deploy.export import export_policy, normalizer_samples, random_samples, wrap_policy
from deploy.inference import OnnxPolicy
from deploy.providers import session_options
from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.spec import load_spec, spec_from_dict


def legged_spec() -> Any:
    """A 12-joint position-mode spec whose observation is 48 wide (4·12)."""
    d = load_spec("cartpole").to_dict()
    d["name"] = "legged12"
    d["joints"] = [{"name": f"j{i}", "motor_id": i + 1, "position_limits": [-1.5, 1.5],
                    "velocity_limit": 20.0, "effort_limit": 30.0, "kp": 20.0, "kd": 0.5}
                   for i in range(12)]
    d["observation"] = {"history": 1, "terms": [{"name": "joint_pos"}, {"name": "joint_vel"},
                                                {"name": "joint_effort"},
                                                {"name": "last_action"}]}
    d["action"] = {"mode": "position", "scale": 0.25, "clip": 1.0}
    return spec_from_dict(d)


def timeit(fn: Callable[[], Any], calls: int, warmup: int = 500) -> np.ndarray:
    for _ in range(warmup):
        fn()
    t = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        t[i] = time.perf_counter_ns() - t0
    return t / 1e3


def bench_model(name: str, spec: Any, hidden: tuple[int, ...], activation: str,
                calls: int, tmp: Path) -> dict[str, Any]:
    obs_dim = 4 * spec.n_joints if spec.name == "legged12" else 4
    torch.manual_seed(0)
    actor = ActorCritic(obs_dim, spec.act_dim, hidden=hidden, activation=activation)  # type: ignore[arg-type]
    actor.obs_normalizer.update(torch.randn(1000, obs_dim))
    actor.eval()
    rng = np.random.default_rng(0)
    obs_set = np.concatenate([random_samples(obs_dim, 1000, rng),
                              normalizer_samples(actor, obs_dim, 1000, rng)])
    path, _ = export_policy(actor, obs_dim=obs_dim, act_dim=spec.act_dim, spec=spec,
                            action_low=[-1.0] * spec.act_dim, action_high=[1.0] * spec.act_dim,
                            out_path=tmp / f"{name}.onnx", parity_obs=obs_set)
    module = wrap_policy(actor, spec, [-1.0] * spec.act_dim, [1.0] * spec.act_dim).eval()
    x_np = rng.normal(size=(1, obs_dim)).astype(np.float32)
    x_t = torch.from_numpy(x_np)

    torch.set_num_threads(1)
    traced = torch.jit.trace(module, (x_t,), check_trace=False)
    traced = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
    sess = ort.InferenceSession(str(path), sess_options=session_options(),
                                providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    pol = OnnxPolicy(path, provider="cpu", log=lambda s: None)
    obs1 = x_np[0]

    def eager() -> None:
        with torch.inference_mode():
            module(x_t)

    def script() -> None:
        with torch.inference_mode():
            traced(x_t)

    def eager_mean_only() -> None:
        with torch.inference_mode():
            actor.actor_mean(x_t)

    methods = {
        "torch eager (inference_mode, 1 thread)": eager,
        "torch eager, actor_mean only (no mapping, no std)": eager_mean_only,
        "TorchScript (trace + freeze)": script,
        "onnxruntime run()": lambda: sess.run(names, {"obs": x_np}),
        "onnxruntime IO binding (OnnxPolicy.step)": lambda: pol.step(obs1),
    }
    # interleave rounds so that a burst of load from other processes hits every method
    rounds = 5
    samples: dict[str, list[np.ndarray]] = {k: [] for k in methods}
    for _ in range(rounds):
        for k, fn in methods.items():
            samples[k].append(timeit(fn, calls // rounds, warmup=200))
    out: dict[str, Any] = {"model": name, "methods": {}}
    for k, parts in samples.items():
        t = np.concatenate(parts)
        out["methods"][k] = {"p50_us": round(float(np.percentile(t, 50)), 2),
                             "p99_us": round(float(np.percentile(t, 99)), 2)}
    m = out["methods"]
    eager_p50 = m["torch eager (inference_mode, 1 thread)"]["p50_us"]
    out["ratio_eager_over_ort_iobinding"] = round(
        eager_p50 / m["onnxruntime IO binding (OnnxPolicy.step)"]["p50_us"], 2)
    out["ratio_eager_over_ort_run"] = round(eager_p50 / m["onnxruntime run()"]["p50_us"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=10_000, help="timed calls per method")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(bench_model("cartpole 4-64-64-1 tanh", load_spec("cartpole"), (64, 64),
                                   "tanh", args.calls, Path(tmp)))
        results.append(bench_model("legged 48-256-128-12 ELU", legged_spec(), (256, 128), "elu",
                                   args.calls, Path(tmp)))
    for r in results:
        print(f"\n## {r['model']} (batch 1, {args.calls} calls, µs)")
        print("| method | p50 | p99 |\n|---|---|---|")
        for k, v in r["methods"].items():
            print(f"| {k} | {v['p50_us']} | {v['p99_us']} |")
        print(f"torch eager / ORT IO binding = {r['ratio_eager_over_ort_iobinding']}x; "
              f"torch eager / ORT run() = {r['ratio_eager_over_ort_run']}x")
    env = {"python": sys.version.split()[0], "torch": torch.__version__,
           "onnxruntime": ort.__version__}
    if args.json:
        args.json.write_text(json.dumps({"env": env, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
