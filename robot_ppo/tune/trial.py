"""One trial: sample the parameters, train with `robot-ppo train`'s Trainer, evaluate on the
way, report to the pruner, and score the objective.

Each trial's run directory is DIR/trials/<number>/ (config.yaml, metrics.csv, checkpoint.pt,
as `train` writes them). The trial records where it runs (`host`, `pid` user attributes) so
that a trial whose process died can be marked failed (workers.reap_orphans), and an exception
is stored as the `error` attribute of the failed trial.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot_ppo.cli_config import apply_overrides
from robot_ppo.train.config import TrainConfig
from robot_ppo.tune.evaluation import EvalPlan, evaluate_checkpoint
from robot_ppo.tune.objective import Objective
from robot_ppo.tune.space import SearchSpace


@dataclass(frozen=True)
class TrialJob:
    """Everything a worker process needs to run trials (picklable)."""

    fixed: TrainConfig
    """The options every trial shares (--config/--set, the budget as `steps`)."""
    space: SearchSpace
    objective: Objective
    plan: EvalPlan
    out: Path


def build_source(config: TrainConfig) -> Any:
    """The EnvSource `robot-ppo train` builds for this config."""
    from robot_ppo.commands.train import _gym_source, _robot_source

    if config.env:
        return _gym_source(config.env)
    return _robot_source(config.robot or "cartpole", config.dynamics, config.privileged,
                         {"high_threshold": config.adr_high, "low_threshold": config.adr_low,
                          "corner_prob": config.adr_corner, "sides": config.adr_sides,
                          "relative": config.adr_relative,
                          "min_reference": config.adr_min_reference,
                          "anchor_prob": config.adr_anchor, "fixed": config.adr_fixed},
                         adr_probes=config.adr_probe_envs > 0)


def trial_config(job: TrialJob, params: dict[str, Any], number: int) -> TrainConfig:
    """The TrainConfig of trial `number`: the fixed options with the sampled `params`."""
    from robot_ppo.commands.train import validate

    config = apply_overrides(job.fixed, params, f"trial {number}'s parameters")
    config = dataclasses.replace(config, out=job.out / "trials" / str(number))
    validate(config)  # a combination train would refuse fails the trial with train's message
    return config


class _Progress:
    """The trial's evaluations, as the Trainer's `on_iteration` callback sees them."""

    def __init__(self, job: TrialJob, trial: Any, config: TrainConfig) -> None:
        self.job, self.trial, self.config = job, trial, config
        self.trainer: Any = None
        self.next_eval = job.plan.every
        self.returns: list[float] = []
        self.evaluations: list[list[float]] = []
        """[env steps, mean return] of each evaluation so far."""
        self.eval_s = 0.0
        self.train_s = 0.0
        self.reached_at: float | None = None
        self.pruned = False

    def __call__(self, row: dict[str, float]) -> bool:
        steps = int(row["env_steps"])
        self.train_s = float(row["wall_s"]) - self.eval_s
        if steps < self.next_eval and steps < self.config.steps:
            return False
        while self.next_eval <= steps:
            self.next_eval += self.job.plan.every
        t0 = time.perf_counter()
        checkpoint = self.trainer.save()
        mean_return = evaluate_checkpoint(checkpoint, self.job.plan, self.config.env)
        from robot_ppo.train.seeding import set_torch_threads
        set_torch_threads(self.config.torch_threads)  # eval sets its own thread count
        self.eval_s += time.perf_counter() - t0
        self.returns.append(mean_return)
        self.evaluations.append([steps, round(mean_return, 4)])
        objective = self.job.objective
        self.trial.report(objective.intermediate(mean_return), steps)
        self.trial.set_user_attr("evaluations", self.evaluations)
        if objective.kind != "return" and objective.reached(mean_return):
            self.reached_at = float(steps) if objective.kind == "steps" else self.train_s
            return True
        # the last evaluation is the trial's value: pruning there would only discard it
        if steps < self.config.steps and self.trial.should_prune():
            self.pruned = True
            return True
        return False


def run_trial(job: TrialJob, trial: Any) -> float:
    """Optuna objective: the trial's value (raises optuna.TrialPruned when pruned)."""
    import optuna

    from robot_ppo.train.trainer import Trainer

    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    try:
        params = job.space.suggest(trial)
        config = trial_config(job, params, trial.number)
        progress = _Progress(job, trial, config)
        trainer = Trainer(config, build_source(config), Path(config.out or job.out),
                          on_iteration=progress)
        progress.trainer = trainer
        summary = trainer.run()
    except optuna.TrialPruned:
        raise
    except BaseException as exc:
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}".splitlines()[0])
        raise
    trial.set_user_attr("env_steps", int(summary["env_steps"]))
    trial.set_user_attr("train_s", round(progress.train_s, 2))
    trial.set_user_attr("run_dir", str(config.out))
    if progress.pruned:
        raise optuna.TrialPruned()
    spent = float(summary["env_steps"]) if job.objective.kind != "seconds" else progress.train_s
    return job.objective.value(progress.returns, progress.reached_at, spent)
