"""Robustness table: cartpole variants trained with more and more randomization, evaluated
on nominal dynamics and on the held-out `shifted` set (which also drifts in-episode).

    python bench/robustness.py --out bench_out/robustness --steps 150000 --seeds 2
    # a subset at a longer budget, keeping an earlier run's rows in the table:
    python bench/robustness.py --out bench_out/robustness_v3 --variants randomized,gru_adr \
        --steps 400000 --seeds 2 --episodes 20 --previous bench_out/robustness_v2/results.json

Variants:
  nominal      --dynamics nominal (no randomization)
  randomized   --dynamics randomized (plain domain randomization)
  adr          --dynamics adr (feed-forward MLP, ADR grown from the DR ranges)
  history      randomized + observation.history 4 (a spec derived from the built-in one,
               written into the run directory)
  history_adr  history + --dynamics adr (automatic domain randomization + curriculum)
  gru          randomized + --set recurrent=gru, only if `robot-ppo train` knows that key
  gru_adr      gru + --dynamics adr
(history/GRU variants observe `last_action`.)

Writes OUT/results.json, OUT/table.md (pasted into docs/robustness.md) and
docs/img/robustness.png. Every row records the command, steps, seeds and episodes that
measured it. Rows of variants not re-measured are kept: from OUT/results.json of an earlier
invocation, and from `--previous FILE` (another run's results.json, labelled with
`--previous-cmd`); the table marks each row with the command that measured it. Each
variant's seed-0 policy is also exported to ONNX and run for a few seconds through
`robot-ppo run` against `robot-ppo serve --robot <its spec> --port pty` (column "serial").
Trainings run one at a time under `nice -n 5` (shared machine). Existing checkpoints in OUT
are reused, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import shlex
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
        "adr": {"robot": "cartpole", "dynamics": "adr", "extra": []},
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
    """`robot-ppo eval --json`: mean_return, std_return and the per-episode `returns`."""
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
    cells = [c for c in next(iter(abl.values())) if c not in ("checkpoint_mtime", "episodes")]
    lines = ["| set | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for c in cells:
        lines.append(f"| {c} | " + " | ".join(f"{abl[n][c]:.0f}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def row_stats(r: dict[str, Any], dyn: str) -> tuple[float, float, int]:
    """Mean return over all episodes of all seeds, its standard error, episode count.
    Rows from older runs have only per-seed means (no per-episode returns): SE is nan."""
    eps = [x for seed in r.get(f"{dyn}_returns", []) for x in seed]
    if not eps:
        return mean(r[dyn]), float("nan"), r.get("episodes", 0) * len(r[dyn])
    m = mean(eps)
    var = sum((x - m) ** 2 for x in eps) / max(len(eps) - 1, 1)
    return m, (var / len(eps)) ** 0.5, len(eps)


def table(results: dict[str, Any]) -> str:
    cmds: list[str] = []
    for r in results.values():
        if r.get("cmd", "?") not in cmds:
            cmds.append(r.get("cmd", "?"))
    lines = [
        "| variant | training | steps × seeds × episodes | nominal return | shifted return | "
        "shifted / nominal | episodes at 500 (shifted) | serial | measured by |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        nom, _, _ = row_stats(r, "nominal")
        shf, se, _ = row_stats(r, "shifted")
        eps = [x for seed in r.get("shifted_returns", []) for x in seed]
        full = f"{sum(x >= 500 for x in eps)}/{len(eps)}" if eps else "–"
        se_txt = f" ± {se:.0f}" if se == se else ""
        ratio = 100 * shf / max(nom, 1e-9)
        ratio_se = f" ± {100 * se / max(nom, 1e-9):.0f}" if se == se else ""
        steps = f"{r.get('steps', 0) // 1000} k" if r.get("steps") else "?"
        lines.append(
            f"| {name} | {r['desc']} | {steps} × {len(r['shifted'])} × {r.get('episodes', '?')} | "
            f"{nom:.1f} ({', '.join(f'{x:.0f}' for x in r['nominal'])}) | "
            f"{shf:.1f}{se_txt} ({', '.join(f'{x:.0f}' for x in r['shifted'])}) | "
            f"{ratio:.0f}{ratio_se} % | {full} | {'ok' if r['serial'] else 'FAILED'} | "
            f"[{cmds.index(r.get('cmd', '?')) + 1}] |")
    lines.append("")
    lines += [f"[{i + 1}] `{c}`  " for i, c in enumerate(cmds)]
    lines.append("\nReturns: mean over all episodes of all seeds (± standard error over "
                 "episodes where per-episode returns were kept), per-seed means in brackets.")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(results)
    x = np.arange(len(names))
    nom = [mean(results[n]["nominal"]) for n in names]
    shf = [mean(results[n]["shifted"]) for n in names]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.95 * len(names)), 3.5))
    ax.bar(x - 0.2, nom, 0.4, label="nominal")
    ax.bar(x + 0.2, shf, 0.4, label="shifted (held out, drifting)")
    for i, (a, b) in enumerate(zip(nom, shf)):
        ax.text(i + 0.2, b + 5, f"{100 * b / max(a, 1e-9):.0f}%", ha="center", fontsize=8)
    ax.set_xticks(x, [n + ("*" if results[n].get("fresh") else "") for n in names],
                  fontsize=8, rotation=20, ha="right")
    ax.set_ylabel("mean return (max 500)")
    ax.set_title("cartpole robustness (* = measured by the latest bench command)", fontsize=10)
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
    ap.add_argument("--variants", default="",
                    help="comma-separated variant names to (re)measure, e.g. randomized,gru_adr "
                         "(default: all)")
    ap.add_argument("--only", nargs="*", help="same as --variants, space-separated (old form)")
    ap.add_argument("--previous", type=Path, action="append", default=[],
                    help="results.json of an earlier run whose rows are kept in the table "
                         "(unless re-measured here); repeatable")
    ap.add_argument("--previous-cmd", action="append", default=[],
                    help="the command that produced each --previous file (for rows that do not "
                         "record it themselves)")
    ap.add_argument("--history", type=int, default=8, help="frames of the history variants")
    ap.add_argument("--ablate", type=int, default=1,
                    help="1: also evaluate every re-measured variant's seed 0 on one shifted "
                         "component at a time (OUT/ablation/*.yaml); 0: skip")
    ap.add_argument("--ablate-episodes", type=int, default=0,
                    help="episodes per ablation cell (default: --episodes)")
    args = ap.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cmd = shlex.join(["python", "bench/robustness.py", *sys.argv[1:]])
    all_variants = variants(out, args.history)
    wanted = [n for n in args.variants.split(",") if n] + list(args.only or [])
    unknown = [n for n in wanted if n not in all_variants]
    if unknown:
        ap.error(f"unknown variant(s) {unknown}; known: {', '.join(all_variants)}")

    # rows kept from earlier runs: --previous files first, then this OUT's own results.json.
    # A re-measured variant gets its own row, keyed `name@<steps>k`, next to the old one.
    results: dict[str, Any] = {}
    for i, prev in enumerate(args.previous):
        pcmd = args.previous_cmd[i] if i < len(args.previous_cmd) else f"(from {prev})"
        words = shlex.split(pcmd)
        psteps = int(words[words.index("--steps") + 1]) if "--steps" in words[:-1] else 0
        peps = int(words[words.index("--episodes") + 1]) if "--episodes" in words[:-1] else 0
        for name, r in json.loads(prev.read_text()).items():
            results[name] = {"steps": psteps, "episodes": peps, **r, "cmd": r.get("cmd", pcmd),
                             "fresh": False}
    own = out / "results.json"
    own_rows: dict[str, Any] = json.loads(own.read_text()) if own.is_file() else {}
    for key, r in own_rows.items():
        results[key] = {**r, "fresh": False}

    t0 = time.time()
    measured: list[str] = []
    for name, v in all_variants.items():
        if wanted and name not in wanted:
            continue
        key = f"{name}@{args.steps // 1000}k"
        r: dict[str, Any] = {"variant": name,
                             "desc": f"{Path(v['robot']).stem} / {v['dynamics']}"
                             + (" " + " ".join(v["extra"]) if v["extra"] else ""),
                             "steps": args.steps, "episodes": args.episodes, "cmd": cmd,
                             "nominal": [], "shifted": [], "nominal_returns": [],
                             "shifted_returns": [], "train_s": []}
        for seed in range(args.seeds):
            run = out / name / f"seed{seed}"
            t = time.time()
            ckpt = train(v, run, args.steps, seed)
            r["train_s"].append(round(time.time() - t, 1))
            for dyn in ("nominal", "shifted"):
                res = evaluate(ckpt, dyn, args.episodes)
                r[dyn].append(res["mean_return"])
                r[f"{dyn}_returns"].append(res.get("returns", []))
        r["serial"] = serial_check(v, out / name / "seed0" / "checkpoint.pt", out / name / "seed0")
        results[key] = {**r, "fresh": True}
        own_rows[key] = r
        measured.append(key)
        print(key, {k: r[k] for k in ("nominal", "shifted", "train_s", "serial")}, flush=True)
        own.write_text(json.dumps(own_rows, indent=2))
    md = table(results)
    if args.ablate and measured:
        files = ablation_files(out)
        abl_eps = args.ablate_episodes or args.episodes
        cache = out / "ablation.json"  # seed-0 cells are reused when the checkpoint is
        abl: dict[str, dict[str, Any]] = (json.loads(cache.read_text())
                                            if cache.is_file() else {})
        for name in measured:
            ckpt = out / results[name]["variant"] / "seed0" / "checkpoint.pt"
            key = f"{ckpt.stat().st_mtime_ns}"
            if (abl.get(name, {}).get("checkpoint_mtime") != key
                    or abl[name].get("episodes") != abl_eps):
                abl[name] = {"checkpoint_mtime": key, "episodes": abl_eps}
            abl[name]["shifted"] = evaluate(ckpt, "shifted", abl_eps)["mean_return"] \
                if abl_eps != args.episodes else results[name]["shifted"][0]
            for cell, path in files.items():
                if cell not in abl[name]:
                    abl[name][cell] = evaluate(ckpt, str(path), abl_eps)["mean_return"]
            cache.write_text(json.dumps(abl, indent=2))
        md += (f"\nAblation (seed 0, mean return over {abl_eps} episodes, seeds 0–{abl_eps - 1}):"
               "\n\n") + ablation_table(
            {n: abl[n] for n in measured})
    print(md)
    print(f"total {time.time() - t0:.0f} s")
    (out / "table.md").write_text(md)
    plot(results, args.docs / "img" / "robustness.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
