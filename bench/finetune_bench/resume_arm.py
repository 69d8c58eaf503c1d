"""The resume_identified arm: real-to-sim-to-real through `robot-ppo identify`.

    SEED_DIR/identified.yaml          identify on the robot arm's round-1 logs
    SEED_DIR/arm_resume_identified/   robot-ppo train --resume REFERENCE --dynamics
                                      identified.yaml for --resume-steps more steps

The robot time it spends is what the identification read: round 1 of the robot arm (the
reference's exploring episodes, which this arm's own round 1 would collect on the same
serve seeds). There is no KL term in training; the KL of the result to the reference is
measured afterwards on those same logged observations, so it reads on the same footing as
the leashed arms'. No rollback judges it on the robot here: on a real robot, one check
round (rounds + 1 of the budget's shares, about 75 s on the cartpole) comes before
keeping it, which keeps it inside the same budget.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from finetune_bench.arms import ArmRun
from finetune_bench.config import BenchConfig, train_options, train_steps
from finetune_bench.stack import Timing, cli
from robot_ppo.rollout_format import read_rollouts


def round_one(robot_arm: Path, control_hz: float) -> tuple[float, int, int, float]:
    """Robot seconds, falls, safety stops and logged mean return of the robot arm's
    round 1."""
    logged = json.loads((robot_arm / "round_1" / "summary.json").read_text())
    seconds = sum(e["steps"] for e in logged["logged"]) / control_hz
    row = next(csv.DictReader((robot_arm / "rounds.csv").read_text().splitlines()))
    return seconds, int(row["falls"]), int(row["safety_stops"]), float(row["mean_return"])


def kl_on_logs(policy: Path, reference: Path, logs: Path, spec_hash: str) -> float:
    """Mean over the logged observations of KL(policy ‖ reference), the leash's direction
    (robot_ppo/finetune/kl.py), from the two exported graphs' mean and std outputs."""
    import torch

    from deploy.inference import OUTPUT_MEAN, OUTPUT_STD, OnnxPolicy
    from robot_ppo.finetune.kl import gaussian_kl

    data = read_rollouts(logs, expected_spec_hash=spec_hash)
    obs = np.concatenate([ep["obs"] for ep in data.episodes]).astype(np.float32)
    quiet = {"log": lambda _msg: None, "time_providers": False}
    new = OnnxPolicy(policy, provider="cpu", **quiet).run_batch(obs)  # type: ignore[arg-type]
    ref = OnnxPolicy(reference, provider="cpu", **quiet).run_batch(obs)  # type: ignore[arg-type]
    t = {k: torch.from_numpy(v) for k, v in
         (("mp", new[OUTPUT_MEAN]), ("sp", new[OUTPUT_STD]), ("mq", ref[OUTPUT_MEAN]),
          ("sq", ref[OUTPUT_STD]))}
    kl = gaussian_kl(t["mp"], t["sp"].log(), t["mq"], t["sq"].log())
    return float(kl.mean())


def run_resume_identified(robot: str, reference: Path, identified: Path, seed: int,
                          cfg: BenchConfig, timing: Timing, seed_dir: Path) -> ArmRun:
    """Train on from the reference on the identified dynamics, export, and read its
    figures (robot time, falls and stops: the robot arm's round 1)."""
    out = seed_dir / "arm_resume_identified"
    onnx = out / "policy.onnx"
    if not (cfg.reuse and onnx.is_file()):
        args = ["train", "--robot", robot, "--resume", str(reference), "--dynamics",
                str(identified), "--steps", str(train_steps(cfg, robot) + cfg.resume_steps),
                "--seed", str(seed), "--out", str(out), "--overwrite", "true",
                *train_options(cfg, robot)]
        cli(args, seed_dir / "arm_resume_identified.train.log")
        cli(["export", "--checkpoint", str(out / "checkpoint.pt"), "--output", str(onnx),
             "--no-sim", "true"], seed_dir / "arm_resume_identified.export.log")
    robot_arm = seed_dir / "arm_robot"
    seconds, falls, stops, logged = round_one(robot_arm, timing.spec.rates.control_hz)
    kl = kl_on_logs(onnx, seed_dir / "reference" / "policy.onnx",
                    robot_arm / "round_1" / "logs", timing.spec.spec_hash)
    return ArmRun(robot_seconds=seconds, falls=falls, safety_stops=stops, kl=kl,
                  kl_proposed=kl, accepted="resumed", policy=onnx,
                  rounds=[{"round": 1, "policy": "reference", "robot_s": seconds,
                           "logged_mean_return": logged, "status": "identified"}])
