"""Fine-tuning on a shifted robot, end to end through the real stack.

    python bench/finetune_shifted.py --out bench_out/finetune_shifted          # the stack
    python bench/finetune_shifted.py --mode sim --out bench_out/ft_sim        # in-process

1. `robot-ppo train --robot cartpole --dynamics nominal` (or --checkpoint to reuse one);
2. `robot-ppo export`; the "real robot" is `robot-ppo serve --dynamics shifted` (heavier
   pole, more friction, latency) behind a pty, driven by `robot-ppo run`;
3. evaluate: E episodes with `run --explore 0 --log-dir`, return = steps until the task's
   termination, scored from the logged states with the task's reward function;
4. collect K episodes with `run --explore SCALE --log-dir`;
5. `robot-ppo finetune` on them; export; evaluate again; plot and write results.json.

--mode sim replaces serve+run by the shifted sim env stepped in-process and logged with
RolloutWriter (no serial link, no real-time pacing): quick, same fine-tuning path.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROBOT = "cartpole"
# this interpreter's CLI, so the bench works without an activated venv (`robot-ppo` on PATH)
CLI = [sys.executable, "-m", "robot_ppo.cli"]


def sh(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    print("$", " ".join(args), flush=True)
    res = subprocess.run(args, text=True, capture_output=True, **kw)
    if res.returncode != 0:
        sys.exit(f"failed ({res.returncode}): {' '.join(args)}\n{res.stderr[-2000:]}")
    return res


def stack_episode(policy: Path, log_dir: Path, explore: float, seed: int,
                  duration: float) -> None:
    """One episode on the virtual robot: a fresh `serve` (fresh pole), one `run`."""
    serve = subprocess.Popen([*CLI, "serve", "--robot", ROBOT, "--port", "pty",
                              "--dynamics", "shifted", "--seed", str(seed)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert serve.stdout is not None
        port = serve.stdout.readline().split()[0]
        args = [*CLI, "run", "--policy", str(policy), "--port", port, "--log-dir",
                str(log_dir), "--explore", str(explore), "--duration", str(duration),
                "--seed", str(seed), "--standby-s", "0.2", "--stats-file", ""]
        print("$", " ".join(args), flush=True)
        res = subprocess.run(args, text=True, capture_output=True, timeout=120)
        if res.returncode != 0:
            # a runtime fault (e.g. link loss on a loaded machine) ends the episode with a
            # safe stop; what it logged up to then is still a valid episode
            print(f"  run exited {res.returncode}: {res.stderr.strip().splitlines()[-3:]}")
    finally:
        serve.kill()
        serve.wait()


def sim_episode(ckpt: Path, log_dir: Path, explore: float, seed: int) -> None:
    """One episode of the shifted sim env, logged like the runtime logs the robot."""
    import torch

    import sim
    from robot_ppo.action import ActionMapping
    from robot_ppo.rollout_format import RolloutWriter, gaussian_log_prob
    from robot_ppo.spec import load_spec
    from robot_ppo.train.checkpoint import build_model, load_checkpoint

    spec = load_spec(ROBOT)
    model = build_model(load_checkpoint(ckpt))
    env = sim.make_env(spec, dynamics="shifted", seed=seed)
    base, mapping = env.unwrapped, ActionMapping(spec)
    rng = np.random.default_rng(seed)
    writer = RolloutWriter(log_dir, spec, {"checkpoint": str(ckpt)}, explore=explore > 0,
                           backpressure="block")
    obs, _ = env.reset(seed=seed)
    writer.mark_episode("start", "bench")
    done, term = False, False
    while not done:
        with torch.no_grad():
            o = torch.as_tensor(obs)[None]
            mean = model.actor_mean(o)[0].numpy()
            std = model.action_std(o)[0].numpy() * explore
        a = (mean + std * rng.standard_normal(mean.shape)).astype(np.float32)
        logp = gaussian_log_prob(a, mean, std) if explore > 0 else None
        writer.append(base.sim.time, base.sim.observed_state(), obs,
                      mapping.to_command(mapping.targets(a)), a, logp,
                      std if explore > 0 else None, action_mean=mean)
        obs, _r, term, trunc, _ = env.step(a)
        done = term or trunc
    writer.mark_episode("safety_trip" if term else "stop", "task end")
    writer.close()
    env.close()


def returns_of(log_dir: Path) -> list[float]:
    """Per-episode return, scored from the logged states with the task's reward."""
    from robot_ppo.commands.finetune import task_score_fn
    from robot_ppo.finetune.scoring import logged_returns
    from robot_ppo.rollout_format import read_rollouts
    from robot_ppo.spec import load_spec

    spec = load_spec(ROBOT)
    return logged_returns(read_rollouts(log_dir), task_score_fn(spec), spec.rates.control_hz)


def episodes(mode: str, ckpt: Path, policy: Path, log_dir: Path, n: int, explore: float,
             seed0: int, duration: float) -> list[float]:
    for k in range(n):
        if mode == "stack":
            stack_episode(policy, log_dir, explore, seed0 + k, duration)
        else:
            sim_episode(ckpt, log_dir, explore, seed0 + k)
    return returns_of(log_dir)


def plot(results: dict[str, Any], metrics_csv: Path, path: Path) -> None:
    import csv

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in csv.DictReader(metrics_csv.read_text().splitlines())
            if r["phase"] == "policy"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
    before, after = results["eval_before"], results["eval_after"]
    a1.boxplot([before, after])
    a1.set_xticks([1, 2], ["reference", "fine-tuned"])
    a1.set_ylabel("return on the shifted robot")
    a1.set_title(f"{results['mode']}: {np.mean(before):.0f} → {np.mean(after):.0f}")
    it = [int(r["iteration"]) for r in rows]
    a2.plot(it, [float(r["kl_ref"]) for r in rows], "o-", label="KL(π‖π_ref)")
    a2.axhline(results["kl_bound"], color="r", ls="--", label="bound")
    a2.set_xlabel("iteration")
    a2.legend()
    a2.set_title("KL to the reference")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("stack", "sim"), default="stack")
    ap.add_argument("--out", type=Path, default=Path("bench_out/finetune_shifted"))
    ap.add_argument("--checkpoint", type=Path, help="reuse a nominal checkpoint")
    ap.add_argument("--train-steps", type=int, default=40_000)
    ap.add_argument("--collect", type=int, default=12, help="exploring episodes K")
    ap.add_argument("--eval", type=int, default=6, help="evaluation episodes per policy")
    ap.add_argument("--explore", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=8.5, help="stack: seconds per episode")
    ap.add_argument("--kl-bound", type=float, default=0.05)
    ap.add_argument("--finetune-args", default="", help="extra robot-ppo finetune options")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t0 = time.time()

    ckpt = args.checkpoint
    if ckpt is None:
        sh([*CLI, "train", "--robot", ROBOT, "--dynamics", "nominal", "--steps",
            str(args.train_steps), "--out", str(out / "nominal"), "--overwrite",
            "--progress", "false", "--torch-threads", "1"])
        ckpt = out / "nominal" / "checkpoint.pt"
    policy = out / "reference.onnx"
    sh([*CLI, "export", "--checkpoint", str(ckpt), "--output", str(policy),
        "--no-sim", "true"])

    common = (args.mode, args.duration)
    before = episodes(args.mode, ckpt, policy, out / "eval_before", args.eval, 0.0, 1000,
                      common[1])
    print(f"reference on the shifted robot: mean return {np.mean(before):.1f} {before}")
    logged = episodes(args.mode, ckpt, policy, out / "explore_logs", args.collect,
                      args.explore, 2000, common[1])
    print(f"exploring episodes (scale {args.explore}): mean return {np.mean(logged):.1f}")
    sh([*CLI, "finetune", "--checkpoint", str(ckpt), "--rollouts",
        str(out / "explore_logs"), "--out", str(out / "finetuned"), "--overwrite", "--kl-bound",
        str(args.kl_bound), *args.finetune_args.split()])
    new_ckpt = out / "finetuned" / "checkpoint.pt"
    new_policy = out / "finetuned.onnx"
    sh([*CLI, "export", "--checkpoint", str(new_ckpt), "--output", str(new_policy),
        "--no-sim", "true"])
    after = episodes(args.mode, new_ckpt, new_policy, out / "eval_after", args.eval, 0.0,
                     1000, common[1])
    print(f"fine-tuned on the shifted robot: mean return {np.mean(after):.1f} {after}")

    summary = json.loads((out / "finetuned" / "summary.json").read_text())
    results = {
        "mode": args.mode, "eval_before": before, "eval_after": after,
        "mean_before": float(np.mean(before)), "mean_after": float(np.mean(after)),
        "logged_returns": logged, "kl_to_reference": summary["kl_to_reference"],
        "kl_bound": args.kl_bound, "robot_steps": summary["robot_steps"],
        "finetune_wall_s": summary["wall_s"], "total_wall_s": time.time() - t0,
        "command": " ".join(sys.argv),
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plot(results, out / "finetuned" / "metrics.csv", out / "finetune_shifted.png")
    print(json.dumps({k: v for k, v in results.items() if not isinstance(v, list)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
