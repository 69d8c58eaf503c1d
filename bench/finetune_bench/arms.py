"""Trainings and arms of one robot and seed.

    SEED_DIR/reference/        robot-ppo train --dynamics nominal   (+ reference.onnx)
    SEED_DIR/oracle/           robot-ppo train --dynamics shifted, same budget (+ oracle.onnx)
    SEED_DIR/arm_<name>/       robot-ppo adapt from the reference (every arm but none)
    SEED_DIR/eval_<name>/      evaluation episodes of a policy (stack.evaluate)

Every fine-tuning arm is one `robot-ppo adapt` run from the same reference, on a fresh
`serve` with the same seed, with the same rounds, episodes and exploration; they differ only
in the fine-tuning options below. The budget is spread evenly: rounds + the final check
each collect EPISODES full-length episodes, so no arm logs more than --robot-seconds (falls
end episodes early, so it may log less; results.json says how much it logged).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune_bench.config import BenchConfig, train_options, train_steps
from finetune_bench.stack import BenchError, Timing, cli, serve

MAX_RETURN_TASKS = ("balance",)
"""Tasks whose best return is known: +1 per step alive, so episode_steps."""


def leash_options(arm: str, cfg: BenchConfig, identified: Path | None) -> list[str]:
    """The fine-tuning options that make an arm what it is."""
    leash = ["--kl-bound", repr(cfg.kl_bound)]
    if arm == "robot":
        return leash
    if arm == "sim_nominal":
        return [*leash, "--sim-mix", repr(cfg.sim_mix), "--sim-dynamics", "nominal"]
    if arm == "sim_identified":
        if identified is None:
            raise BenchError("sim_identified needs the identified dynamics file")
        return [*leash, "--sim-mix", repr(cfg.sim_mix), "--sim-dynamics", str(identified)]
    if arm == "no_leash":
        # no penalty and a bound nothing reaches; the rollback between rounds stays
        return ["--kl-bound", "1e9", "--kl-coef", "0", "--adaptive-kl", "false"]
    raise BenchError(f"unknown arm {arm!r}")


def train(robot: str, dynamics: str, seed: int, cfg: BenchConfig, out: Path) -> Path:
    """A training of the robot's --train-steps on `dynamics`, exported; the policy.onnx path."""
    onnx = out / "policy.onnx"
    if cfg.reuse and onnx.is_file():
        return onnx
    args = ["train", "--robot", robot, "--dynamics", dynamics, "--steps",
            str(train_steps(cfg, robot)), "--seed", str(seed), "--out", str(out),
            "--overwrite", "true", *train_options(cfg, robot)]
    cli(args, out.parent / f"{out.name}.train.log")
    cli(["export", "--checkpoint", str(out / "checkpoint.pt"), "--output", str(onnx),
         "--no-sim", "true"], out.parent / f"{out.name}.export.log")
    return onnx


def reference_check(checkpoint: Path, spec: Any, cfg: BenchConfig, log: Path) -> dict[str, Any]:
    """The reference's mean return on nominal dynamics (robot-ppo eval, 10 episodes), and
    its fraction of the task's best return where that is known."""
    line = cli(["eval", "--checkpoint", str(checkpoint), "--dynamics", "nominal",
                "--episodes", "10", "--json", "true", "--progress", "false"], log)
    nominal = float(json.loads(line.strip().splitlines()[-1])["mean_return"])
    best = float(spec.task.episode_steps) if spec.task.name in MAX_RETURN_TASKS else math.nan
    frac = nominal / best if math.isfinite(best) else math.nan
    return {"nominal_return": nominal, "max_return": best, "fraction": frac,
            "ok": bool(frac >= cfg.reference_fraction) if math.isfinite(frac) else None}


@dataclass
class ArmRun:
    """What one adapt run did, from its rounds.csv and summary.json."""

    robot_seconds: float
    falls: int
    safety_stops: int
    kl: float
    """KL to the reference of the accepted policy (0 when that is the reference)."""
    kl_proposed: float
    """Largest KL of any round's fine-tuned policy, accepted or rolled back."""
    accepted: str
    policy: Path
    rounds: list[dict[str, Any]] = field(default_factory=list)
    """rounds.csv as read: cumulative robot seconds and the logged mean return per round."""


def read_arm(out: Path, control_hz: float) -> ArmRun:
    """An adapt run's figures. Robot time is counted as logged steps × the control period:
    the logged timestamps are the controller's own clock, which under lockstep runs
    SPEEDUP times faster than the simulated robot (so adapt's robot_s column reads short)."""
    rows = list(csv.DictReader((out / "rounds.csv").read_text().splitlines()))
    summary = json.loads((out / "summary.json").read_text())
    accepted = str(summary["accepted"])
    kl = 0.0
    if accepted != "reference":
        kl = float(rows[int(accepted.split("_")[1]) - 1]["kl_to_reference"])
    cum, curve = 0.0, []
    for r in rows:
        logged = json.loads((out / f"round_{r['round']}" / "summary.json").read_text())
        cum += sum(e["steps"] for e in logged["logged"]) / control_hz
        curve.append({"round": int(r["round"]), "policy": r["policy"], "robot_s": cum,
                      "logged_mean_return": float(r["mean_return"]), "status": r["status"]})
    proposed = [float(r["kl_to_reference"]) for r in rows if r["kl_to_reference"]]
    return ArmRun(robot_seconds=cum, kl_proposed=max(proposed, default=0.0),
                  falls=sum(int(r["falls"]) for r in rows),
                  safety_stops=sum(int(r["safety_stops"]) for r in rows), kl=kl,
                  accepted=accepted, policy=out / "policy.onnx", rounds=curve)


def episodes_per_round(cfg: BenchConfig, timing: Timing) -> int:
    """Full-length episodes per round so that rounds + final check fit the budget."""
    return max(1, math.floor(cfg.robot_seconds / ((cfg.rounds + 1) * timing.episode_s)))


def run_arm(arm: str, reference: Path, seed: int, cfg: BenchConfig, timing: Timing,
            out: Path, identified: Path | None) -> ArmRun:
    """One `robot-ppo adapt` from the reference on a fresh shifted serve (seed: the same
    for every arm, so round 1 of every arm sees the same robots)."""
    if cfg.reuse and (out / "summary.json").is_file() and json.loads(
            (out / "summary.json").read_text()).get("state") == "done":
        return read_arm(out, timing.spec.rates.control_hz)
    with serve(timing.spec.name, 100 + 1000 * seed, timing, out.parent / f"{out.name}.serve.log") \
            as port:
        args = ["adapt", "--checkpoint", str(reference), "--port", port, "--out", str(out),
                "--overwrite", "true", "--rounds", str(cfg.rounds), "--episodes",
                str(episodes_per_round(cfg, timing)), "--explore", repr(cfg.explore),
                "--duration", repr(timing.duration), "--start-timeout-s", "5",
                "--seed", str(seed), "--run-set", ",".join(timing.run_set()),
                *leash_options(arm, cfg, identified)]
        for item in cfg.finetune_set:
            args += ["--set", item]
        cli(args, out.parent / f"{out.name}.adapt.log")
    return read_arm(out, timing.spec.rates.control_hz)


def identify(reference: Path, logs: Path, cfg: BenchConfig, timing: Timing, out: Path) -> Path:
    """robot-ppo identify on `logs` (the robot arm's round-1 episodes: collected with the
    reference on the same serve seeds, what sim_identified's own round 1 collects)."""
    if cfg.reuse and out.is_file():
        return out
    cli(["identify", "--checkpoint", str(reference), "--rollouts", str(logs), "--output",
         str(out), "--overwrite", "true", "--timing",
         "lockstep" if timing.lockstep else "reply", "--evaluations",
         str(cfg.identify_evaluations), "--seed", "0"], out.parent / f"{out.stem}.log")
    return out
