"""Robustness table: cartpole variants trained with more and more randomization, evaluated
on nominal dynamics and on the held-out `shifted` set (which also drifts in-episode).

    python bench/robustness.py --out bench_out/robustness --steps 150000 --seeds 2

Variants:
  nominal      --dynamics nominal (no randomization)
  randomized   --dynamics randomized (plain domain randomization)
  history      randomized + observation.history 4 (a spec derived from the built-in one,
               written into the run directory)
  history_adr  history + --dynamics adr (automatic domain randomization + curriculum)
  gru          randomized + --set recurrent=gru, only if `robot-ppo train` knows that key

Writes OUT/results.json, docs/robustness.md (the table) and docs/img/robustness.png. Each
variant's seed-0 policy is also exported to ONNX and run for a few seconds through
`robot-ppo run` against `robot-ppo serve --robot <its spec> --port pty` (column "serial").
Trainings run one at a time under `nice -n 5` (shared machine). Existing checkpoints in OUT
are reused, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "robot_ppo.cli"]


def history_spec(out: Path, history: int = 8, last_action: bool = True) -> Path:
    """The built-in cartpole with `history` stacked frames (and the previous action as an
    observation term: with action latency the policy cannot otherwise know the commands
    still in flight), as a YAML in `out`."""
    from robot_ppo.spec import BUILTIN_DIR, load_spec

    data = load_spec("cartpole").to_dict()
    name = f"cartpole_history{history}" + ("_lastaction" if last_action else "")
    data["name"] = name
    data["urdf"] = str((BUILTIN_DIR / data["urdf"]).resolve())
    data["observation"]["history"] = history
    if last_action:
        data["observation"]["terms"].append({"name": "last_action", "scale": 1.0, "noise": 0.0})
    path = out / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def has_recurrent() -> bool:
    help_text = subprocess.run([*CLI, "train", "--help"], capture_output=True, text=True).stdout
    return "recurrent" in help_text


def variants(out: Path, history: int = 8) -> dict[str, dict[str, Any]]:
    hist = str(history_spec(out, history))
    last = str(history_spec(out, 1))  # one frame + last_action (for the GRU)
    v: dict[str, dict[str, Any]] = {
        "nominal": {"robot": "cartpole", "dynamics": "nominal", "extra": []},
        "randomized": {"robot": "cartpole", "dynamics": "randomized", "extra": []},
        "history": {"robot": hist, "dynamics": "randomized", "extra": []},
        "history_adr": {"robot": hist, "dynamics": "adr", "extra": []},
    }
    if has_recurrent():
        gru = ["--set", "recurrent=gru"]
        v["gru"] = {"robot": last, "dynamics": "randomized", "extra": gru}
        v["gru_adr"] = {"robot": last, "dynamics": "adr", "extra": gru}
    return v


def sh(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    print("$", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)
    if res.returncode != 0:
        raise RuntimeError(f"command failed ({res.returncode}): {' '.join(cmd)}\n"
                           f"{res.stderr[-3000:]}")
    return res


def train(v: dict[str, Any], run: Path, steps: int, seed: int) -> Path:
    ckpt = run / "checkpoint.pt"
    summary = run / "summary.json"
    if summary.is_file() and json.loads(summary.read_text())["env_steps"] >= steps:
        return ckpt
    sh(["nice", "-n", "5", *CLI, "train", "--robot", v["robot"], "--dynamics", v["dynamics"],
        "--steps", str(steps), "--seed", str(seed), "--out", str(run), "--tensorboard",
        "false", *v["extra"]])
    return ckpt


def evaluate(ckpt: Path, dynamics: str, episodes: int) -> dict[str, Any]:
    res = sh(["nice", "-n", "5", *CLI, "eval", "--checkpoint", str(ckpt), "--episodes",
              str(episodes), "--dynamics", dynamics, "--json"])
    return json.loads(res.stdout.strip().splitlines()[-1])


def serial_check(v: dict[str, Any], ckpt: Path, run: Path) -> bool:
    """Export to ONNX and run it for 3 s over a pty against the simulated robot."""
    onnx = run / "policy.onnx"
    sh([*CLI, "export", str(ckpt), "--output", str(onnx)])
    serve = subprocess.Popen([*CLI, "serve", "--robot", v["robot"], "--port", "pty",
                                    "--duration", "30"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert serve.stdout is not None
        port = serve.stdout.readline().strip()
        res = subprocess.run([*CLI, "run", "--policy", str(onnx), "--port", port, "--robot",
                                    v["robot"], "--duration", "3", "--quiet", "true",
                                    "--stats-file", str(run / "run_stats.json")],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
        if res.returncode != 0:
            print(res.stderr[-2000:], file=sys.stderr)
        return res.returncode == 0
    finally:
        serve.terminate()
        serve.wait(timeout=10)


ABLATION: dict[str, tuple[str, ...]] = {
    "mass": ("mass_scale",),
    "inertia": ("inertia_scale",),
    "friction": ("friction",),
    "motor_strength": ("motor_strength",),
    "joint_damping": ("joint_damping",),
    "joint_friction": ("joint_friction",),
    "latency": ("action_latency_s", "obs_latency_s"),
    "gravity_tilt_x": ("gravity_tilt_x",),
    "gravity_tilt_y": ("gravity_tilt_y",),
}
"""Shifted components that can matter for the cartpole (no IMU: no gyro bias; torque mode:
no Kp/Kd scales). Tilt y is the one along the rail."""


def ablation_files(out: Path) -> dict[str, Path]:
    """`only_<c>`: the randomized set (drift on) with component c at its shifted range;
    `shifted_without_<c>`: the shifted set with c back at its training range."""
    from robot_ppo.spec import load_spec
    from sim.dynamics import resolve_dynamics

    spec = load_spec("cartpole")
    shifted = resolve_dynamics(spec, "shifted").ranges
    train_r = resolve_dynamics(spec, "randomized").ranges
    d = out / "ablation"
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    for comp, keys in ABLATION.items():
        for tag, base, src in (("only", "randomized", shifted),
                               ("shifted_without", "shifted", train_r)):
            path = d / f"{tag}_{comp}.yaml"
            path.write_text(yaml.safe_dump(
                {"base": base, "ranges": {k: [float(x) for x in src[k]] for k in keys}}))
            files[f"{tag}_{comp}"] = path
    return files


def ablation_table(abl: dict[str, dict[str, Any]]) -> str:
    names = list(abl)
    cells = [c for c in next(iter(abl.values())) if c != "checkpoint_mtime"]
    lines = ["| set | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for c in cells:
        lines.append(f"| {c} | " + " | ".join(f"{abl[n][c]:.0f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def table(results: dict[str, Any], cmd: str) -> str:
    lines = [
        "| variant | training | nominal return | shifted return | shifted / nominal | "
        "serial (export → run ↔ serve) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        nom, shf = mean(r["nominal"]), mean(r["shifted"])
        lines.append(
            f"| {name} | {r['desc']} | {nom:.1f} ({', '.join(f'{x:.0f}' for x in r['nominal'])})"
            f" | {shf:.1f} ({', '.join(f'{x:.0f}' for x in r['shifted'])}) | "
            f"{100 * shf / max(nom, 1e-9):.0f} % | {'ok' if r['serial'] else 'FAILED'} |")
    return "\n".join(lines) + f"\n\nCommand: `{cmd}`\n"


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(results)
    x = np.arange(len(names))
    nom = [mean(results[n]["nominal"]) for n in names]
    shf = [mean(results[n]["shifted"]) for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(x - 0.2, nom, 0.4, label="nominal")
    ax.bar(x + 0.2, shf, 0.4, label="shifted (held out, drifting)")
    for i, (a, b) in enumerate(zip(nom, shf)):
        ax.text(i + 0.2, b + 5, f"{100 * b / max(a, 1e-9):.0f}%", ha="center", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel("mean return (max 500)")
    ax.set_title("cartpole robustness")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench_out/robustness"))
    ap.add_argument("--steps", type=int, default=150000)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--docs", type=Path, default=ROOT / "docs")
    ap.add_argument("--only", nargs="*", help="variant names (default: all)")
    ap.add_argument("--history", type=int, default=8, help="frames of the history variants")
    ap.add_argument("--ablate", type=int, default=1,
                    help="1: also evaluate every variant's seed 0 on one shifted component at a "
                         "time (OUT/ablation/*.yaml); 0: skip")
    args = ap.parse_args()
    out = args.out.resolve()
    cmd = " ".join(["python", "bench/robustness.py", *sys.argv[1:]])
    results: dict[str, Any] = {}
    t0 = time.time()
    for name, v in variants(out, args.history).items():
        if args.only and name not in args.only:
            continue
        r: dict[str, Any] = {"desc": f"{Path(v['robot']).stem} / {v['dynamics']}"
                             + (" " + " ".join(v["extra"]) if v["extra"] else ""),
                             "nominal": [], "shifted": [], "train_s": []}
        for seed in range(args.seeds):
            run = out / name / f"seed{seed}"
            t = time.time()
            ckpt = train(v, run, args.steps, seed)
            r["train_s"].append(round(time.time() - t, 1))
            for dyn in ("nominal", "shifted"):
                r[dyn].append(evaluate(ckpt, dyn, args.episodes)["mean_return"])
        r["serial"] = serial_check(v, out / name / "seed0" / "checkpoint.pt", out / name / "seed0")
        results[name] = r
        print(name, r, flush=True)
        (out / "results.json").write_text(json.dumps(results, indent=2))
    md = table(results, cmd)
    if args.ablate:
        files = ablation_files(out)
        cache = out / "ablation.json"  # seed-0 cells are reused when the checkpoint is
        abl: dict[str, dict[str, Any]] = (json.loads(cache.read_text())
                                            if cache.is_file() else {})
        for name, r in results.items():
            ckpt = out / name / "seed0" / "checkpoint.pt"
            key = f"{ckpt.stat().st_mtime_ns}"
            if abl.get(name, {}).get("checkpoint_mtime") != key:
                abl[name] = {"checkpoint_mtime": key}
            abl[name]["shifted"] = r["shifted"][0]
            for cell, path in files.items():
                if cell not in abl[name]:
                    abl[name][cell] = evaluate(ckpt, str(path), args.episodes)["mean_return"]
            (out / "ablation.json").write_text(json.dumps(abl, indent=2))
        md += "\nAblation (seed 0, mean return over the same episodes):\n\n" + ablation_table(abl)
    print(md)
    print(f"total {time.time() - t0:.0f} s")
    (out / "table.md").write_text(md)
    plot(results, args.docs / "img" / "robustness.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
