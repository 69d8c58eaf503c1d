"""One trial through a real Optuna study: the pruner stops training at an intermediate
evaluation, a reached threshold ends the trial with the steps it took, and `--env` trials are
evaluated deterministically too."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from robot_ppo.cli_values import with_values
from robot_ppo.train.config import TrainConfig
from robot_ppo.tune.evaluation import EvalPlan
from robot_ppo.tune.objective import make_objective
from robot_ppo.tune.space import parse_space
from robot_ppo.tune.trial import TrialJob, run_trial

optuna = pytest.importorskip("optuna")

FIXED = TrainConfig.flat(robot="cartpole", steps=1024, envs=2, rollout_steps=128, progress=False,
                    tensorboard=False, checkpoint_every=0, workers=0)
SPACE = parse_space({"params": {"lr": {"low": 1e-4, "high": 1e-3, "log": True}}}, "test")


class AlwaysPrune(optuna.pruners.BasePruner):  # type: ignore[misc,name-defined]
    def prune(self, study: object, trial: object) -> bool:
        return True


def _job(tmp_path: Path, kind: str = "return", threshold: float | None = None,
         fixed: TrainConfig = FIXED) -> TrialJob:
    return TrialJob(fixed=fixed, space=SPACE, objective=make_objective(kind, threshold, 500.0),
                    plan=EvalPlan(episodes=1, dynamics="nominal", seed=7, every=256),
                    out=tmp_path)


def _one_trial(job: TrialJob, direction: str, pruner: object | None = None) -> Any:
    study = optuna.create_study(direction=direction, pruner=pruner)
    study.optimize(functools.partial(run_trial, job), n_trials=1)
    return study.trials[0]


def test_pruned_trial_stops_at_its_first_evaluation(tmp_path: Path) -> None:
    trial = _one_trial(_job(tmp_path), "maximize", AlwaysPrune())
    assert trial.state.name == "PRUNED"
    assert trial.user_attrs["env_steps"] == 256  # not the 1024-step budget
    assert [s for s, _ in trial.user_attrs["evaluations"]] == [256]
    assert list(trial.intermediate_values) == [256]


def test_the_final_evaluation_is_never_pruned(tmp_path: Path) -> None:
    # a trial that trained its whole budget has its value: pruning it there would lose it
    fixed = with_values(FIXED, steps=256)
    trial = _one_trial(_job(tmp_path, fixed=fixed), "maximize", AlwaysPrune())
    assert trial.state.name == "COMPLETE" and trial.user_attrs["env_steps"] == 256
    assert trial.value == trial.user_attrs["evaluations"][-1][1]


def test_returns_are_reported_at_each_evaluation(tmp_path: Path) -> None:
    trial = _one_trial(_job(tmp_path), "maximize")
    assert trial.state.name == "COMPLETE" and trial.user_attrs["env_steps"] == 1024
    evals = trial.user_attrs["evaluations"]
    assert [s for s, _ in evals] == [256, 512, 768, 1024]
    assert trial.value == evals[-1][1]
    assert (tmp_path / "trials" / "0" / "metrics.csv").is_file()


def test_threshold_ends_the_trial_with_the_steps_it_took(tmp_path: Path) -> None:
    # the cartpole earns +1 per step alive: any first episode reaches a return of 1
    trial = _one_trial(_job(tmp_path, "steps", 1.0), "minimize")
    assert trial.state.name == "COMPLETE"
    assert trial.value == 256 and trial.user_attrs["env_steps"] == 256
    assert trial.intermediate_values[256] < 0  # the negated return, for a minimizing study


def test_reports_land_on_the_evaluation_marks(tmp_path: Path) -> None:
    # 3 envs x 128 steps = 384 per iteration: evaluations happen at 384 and 768 env steps,
    # but are reported at the marks 256 and 512 (the budget), which every trial shares,
    # whatever its batch size, so the pruner compares like with like
    fixed = with_values(FIXED, envs=3, steps=512)
    trial = _one_trial(_job(tmp_path, fixed=fixed), "maximize")
    assert [s for s, _ in trial.user_attrs["evaluations"]] == [384, 768]
    assert sorted(trial.intermediate_values) == [256, 512]


def test_several_seeds_score_their_mean(tmp_path: Path) -> None:
    fixed = with_values(FIXED, steps=512)
    job = dataclasses.replace(_job(tmp_path, fixed=fixed), seeds=2)
    trial = _one_trial(job, "maximize")
    assert trial.state.name == "COMPLETE"
    evals = trial.user_attrs["evaluations"]
    assert [s for s, _ in evals] == [256, 512, 256, 512]  # env steps of each seed's run
    # seed k reports at k x budget + mark: one increasing axis for the pruner
    assert sorted(trial.intermediate_values) == [256, 512, 768, 1024]
    assert trial.value == pytest.approx((evals[1][1] + evals[3][1]) / 2)
    assert trial.user_attrs["env_steps"] == 1024
    seeds = [yaml.safe_load((tmp_path / "trials" / "0" / f"seed{k}" / "config.yaml")
                            .read_text())["run"]["seed"] for k in range(2)]
    assert seeds == [0, 1]


def test_gym_env_trial_is_evaluated(tmp_path: Path) -> None:
    fixed = with_values(FIXED, robot=None, env="Pendulum-v1", steps=512)
    trial = _one_trial(_job(tmp_path, fixed=fixed), "maximize")
    assert trial.state.name == "COMPLETE"
    # Pendulum: 200 steps of reward in [-16.3, 0]
    assert -16.3 * 200 <= trial.value <= 0
