"""One trial: sample the parameters, train with `robot-ppo train`'s Trainer, evaluate on the
way, report to the pruner, and score the objective.

Each trial's run directory is DIR/trials/<number>/ (config.yaml, metrics.csv, checkpoint.pt,
as `train` writes them). The trial records where it runs (`host`, `pid` user attributes) so
that a trial whose process died can be marked failed (workers.reap_orphans), and an exception
is stored as the `error` attribute of the failed trial.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot_ppo.cli_config import apply_overrides
from robot_ppo.cli_values import with_values
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
    seeds: int = 1
    """Training seeds per trial (fixed.seed, fixed.seed + 1, ...); the value is their mean."""


def build_source(config: TrainConfig) -> Any:
    """The EnvSource `robot-ppo train` builds for this config."""
    from robot_ppo.commands.train import adr_settings, gym_source, robot_source

    if config.environment.env:
        return gym_source(config.environment.env)
    env = config.environment
    return robot_source(env.robot or "cartpole", env.dynamics, env.privileged,
                        adr_settings(config))


def trial_config(job: TrialJob, params: dict[str, Any], number: int) -> TrainConfig:
    """The TrainConfig of trial `number`: the fixed options with the sampled `params`."""
    from robot_ppo.commands.train import validate

    config = apply_overrides(job.fixed, params, f"trial {number}'s parameters")
    config = with_values(config, out=job.out / "trials" / str(number))
    validate(config)  # a combination train would refuse fails the trial with train's message
    return config


class _Progress:
    """One seed's evaluations, as the Trainer's `on_iteration` callback sees them.

    Evaluations run once an iteration passes a multiple of `plan.every` (and at the end), and
    are reported at that multiple (the budget for the last), not at the iteration's env steps:
    trials with other batch sizes then report at the same steps, which is what the pruners
    compare. Seed k of a trial reports at k x budget + mark."""

    def __init__(self, job: TrialJob, trial: Any, config: TrainConfig, offset: int,
                 evaluations: list[list[float]]) -> None:
        self.job, self.trial, self.config, self.offset = job, trial, config, offset
        self.trainer: Any = None
        self.next_eval = job.plan.every
        self.returns: list[float] = []
        self.evaluations = evaluations
        """[env steps, score] of each evaluation of the trial so far (all its seeds)."""
        self.eval_s = 0.0
        self.train_s = 0.0
        self.reached_at: float | None = None
        self.pruned = False

    def __call__(self, row: dict[str, float]) -> bool:
        steps = int(row["env_steps"])
        self.train_s = float(row["wall_s"]) - self.eval_s
        final = steps >= self.config.run.steps
        if steps < self.next_eval and not final:
            return False
        mark = self.config.run.steps if final else steps - steps % self.job.plan.every
        while self.next_eval <= steps:
            self.next_eval += self.job.plan.every
        t0 = time.perf_counter()
        checkpoint = self.trainer.save()
        score = evaluate_checkpoint(checkpoint, self.job.plan, self.config.environment.env)
        from robot_ppo.train.seeding import set_torch_threads
        set_torch_threads(self.config.run.torch_threads)  # eval sets its own thread count
        self.eval_s += time.perf_counter() - t0
        self.returns.append(score)
        self.evaluations.append([steps, round(score, 4)])
        objective = self.job.objective
        self.trial.report(objective.intermediate(score), self.offset + mark)
        self.trial.set_user_attr("evaluations", self.evaluations)
        if objective.kind != "return" and objective.reached(score):
            self.reached_at = float(steps) if objective.kind == "steps" else self.train_s
            return True
        # the last evaluation is the seed's value: pruning there would only discard it
        if not final and self.trial.should_prune():
            self.pruned = True
            return True
        return False


def _train_seed(job: TrialJob, trial: Any, config: TrainConfig, k: int,
                evaluations: list[list[float]]) -> tuple[_Progress, dict[str, Any]]:
    """Train and evaluate seed k of the trial: its progress and the Trainer's summary."""
    from robot_ppo.train.trainer import Trainer

    if job.seeds > 1:
        config = with_values(config, seed=config.run.seed + k,
                             out=Path(config.run.out or job.out) / f"seed{k}")
    progress = _Progress(job, trial, config, k * config.run.steps, evaluations)
    trainer = Trainer(config, build_source(config), Path(config.run.out or job.out),
                      on_iteration=progress)
    progress.trainer = trainer
    return progress, trainer.run()


def run_trial(job: TrialJob, trial: Any) -> float:
    """Optuna objective: the trial's value, the mean over its seeds (raises
    optuna.TrialPruned when pruned)."""
    import optuna

    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    evaluations: list[list[float]] = []
    values: list[float] = []
    env_steps, train_s = 0, 0.0
    try:
        params = job.space.suggest(trial)
        config = trial_config(job, params, trial.number)
        trial.set_user_attr("run_dir", str(config.run.out))
        for k in range(job.seeds):
            progress, summary = _train_seed(job, trial, config, k, evaluations)
            env_steps += int(summary["env_steps"])
            train_s += progress.train_s
            trial.set_user_attr("env_steps", env_steps)
            trial.set_user_attr("train_s", round(train_s, 2))
            if progress.pruned:
                raise optuna.TrialPruned()
            spent = float(summary["env_steps"]) if job.objective.kind != "seconds" \
                else progress.train_s
            values.append(job.objective.value(progress.returns, progress.reached_at, spent))
    except optuna.TrialPruned:
        raise
    except BaseException as exc:
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}".splitlines()[0])
        raise
    trial.set_user_attr("seed_values", values)
    return sum(values) / len(values)
