"""Scaling: torchrun ranks against --workers at the same core count, side by side.

    python bench/scaling.py [--robot quadruped] [--ranks 1,2,4,8,16] [--global-envs 16]
                            [--steps 32768] [--threshold R] [--out runs/scaling]

For each core count n (as many of --ranks as the machine has cores) two runs of the same
training, with the same global batch (--global-envs × the preset's rollout_steps) and the
same global minibatch (the preset's --minibatch-size):
  * ranks:   `torchrun --standalone --nproc_per_node=n -m robot_ppo train`, each rank
             --global-envs/n envs in its own process (--workers 0), minibatch/n per rank;
  * workers: one `robot-ppo train` with --global-envs envs over --workers n (n = 1: in
             process).
Prints, per run, env steps/s (summary.json, whole run including the first iteration) and
the wall time at which the mean training return (20 episodes, every rank's) first reached
--threshold (metrics.csv; "-" when not reached within --steps). Every run starts from
--seed, so the two columns of one row train on the same amount of data per update.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from robot_ppo.spec import load_spec
from robot_ppo.train.config import preset_for


def time_to(metrics: Path, threshold: float | None) -> str:
    if threshold is None or not metrics.exists():
        return "-"
    for row in csv.DictReader(metrics.open()):
        ret = row["episode_return"]
        if ret not in ("", "nan") and float(ret) >= threshold:
            return f"{float(row['wall_s']):.1f} s"
    return "-"


def run(cmd: list[str], out: Path) -> dict[str, object]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench/scaling.py: {' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return dict(json.loads((out / "summary.json").read_text()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--robot", default="quadruped")
    ap.add_argument("--ranks", default="1,2,4,8,16")
    ap.add_argument("--global-envs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=32768)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/scaling"))
    a = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    counts = [n for n in (int(x) for x in a.ranks.split(",")) if n <= cores
              and a.global_envs % n == 0]
    preset = preset_for(load_spec(a.robot).gym_id)
    minibatch = int(preset.get("minibatch_size", 256))
    base = ["--robot", a.robot, "--steps", str(a.steps), "--seed", str(a.seed),
            "--progress", "false", "--tensorboard", "false", "--overwrite", "true"]
    print(f"{a.robot}: {a.steps} env steps, global batch {a.global_envs} envs, {cores} cores")
    print("| cores | ranks: env steps/s | workers: env steps/s | ranks / workers | "
          f"ranks: time to {a.threshold} | workers: time to {a.threshold} |")
    print("|---|---|---|---|---|---|")
    for n in counts:
        r_out, w_out = a.out / f"ranks{n}", a.out / f"workers{n}"
        ranks = run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                     f"--nproc_per_node={n}", "-m", "robot_ppo", "train", *base,
                     "--envs", str(a.global_envs // n), "--workers", "0",
                     "--minibatch-size", str(max(1, minibatch // n)), "--out", str(r_out)],
                    r_out)
        workers = run([sys.executable, "-m", "robot_ppo", "train", *base,
                       "--envs", str(a.global_envs), "--workers", str(n if n >= 2 else 0),
                       "--minibatch-size", str(minibatch), "--out", str(w_out)], w_out)
        r_sps, w_sps = float(ranks["env_steps_per_s"]), float(workers["env_steps_per_s"])  # type: ignore[arg-type]
        print(f"| {n} | {r_sps:.0f} | {w_sps:.0f} | {r_sps / w_sps:.2f} | "
              f"{time_to(r_out / 'metrics.csv', a.threshold)} | "
              f"{time_to(w_out / 'metrics.csv', a.threshold)} |", flush=True)


if __name__ == "__main__":
    main()
