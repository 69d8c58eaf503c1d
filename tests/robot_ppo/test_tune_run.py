"""`robot-ppo tune` end to end on the real cartpole with tiny budgets (SQLite storage): the
results a user acts on, `train --config DIR/best.yaml` taking best.yaml as it is, resuming a
study, and a failed trial kept with its reason."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from robot_ppo.cli import main
from robot_ppo.cli_values import flat_dict
from robot_ppo.train.config import TrainConfig
from robot_ppo.train.saved_config import saved_options

optuna = pytest.importorskip("optuna")

TINY = ["--robot", "cartpole", "--budget", "512", "--eval-every", "256", "--eval-episodes", "1",
        "--set", "envs=2", "--set", "rollout_steps=128"]


def _study(out: Path, name: str = "tune-cartpole") -> object:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{out / 'study.db'}")


def test_results_best_yaml_trains_and_resume(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tune"
    assert main(["tune", *TINY, "--trials", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.startswith("trial ")]
    assert [ln.split()[1] for ln in lines] == ["0", "1"]
    assert all(" in " in ln and "lr=" in ln for ln in lines)
    assert "best: trial" in captured.out and "defaults: trial 0" in captured.out
    assert (out / "plots" / "optimization_history.png").stat().st_size > 1000
    assert (out / "plots" / "parallel_coordinate.png").is_file()

    study = _study(out)
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert trials[0].user_attrs["defaults"] is True and trials[0].params["lr"] == 1e-3
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert [r["number"] for r in rows] == ["0", "1"]
    assert [float(r["value"]) for r in rows] == [t.value for t in trials]
    assert rows[1]["lr"] == str(trials[1].params["lr"])
    # each trial's learning curve: "steps:score" of every evaluation, as the pruner saw it
    assert [[[float(x) for x in cell.split(":")] for cell in r["evaluations"].split()]
            for r in rows] == [t.user_attrs["evaluations"] for t in trials]

    best = yaml.safe_load((out / "best.yaml").read_text())
    # best.yaml lists the best trial's values that differ from train's defaults (the
    # defaults trial 0 may win at this budget: then it lists none of them)
    chosen, default = study.best_trial.params, flat_dict(TrainConfig())
    for key, value in chosen.items():
        written = best.get(key, default[key])
        assert (list(written) if key == "hidden" else written) == (
            [int(x) for x in value.split(",")] if key == "hidden" else value), key
    assert best["robot"] == "cartpole" and best["steps"] == 512 and best["preset"] == "none"
    assert "out" not in best and "progress" not in best and "tensorboard" not in best

    # best.yaml as it is: train takes it, and trains with the best trial's settings
    run = tmp_path / "run"
    assert main(["train", "--config", str(out / "best.yaml"), "--out", str(run),
                 "--no-progress", "--no-tensorboard"]) == 0
    trained = saved_options(yaml.safe_load((run / "config.yaml").read_text()))
    for key in ("lr", "epochs", "gamma", "kl_mode", "minibatch_size", "hidden"):
        assert trained[key] == best.get(key, default[key]), key
    assert trained["envs"] == 2

    # the same command with more trials resumes the study: earlier trials stay
    capsys.readouterr()
    assert main(["tune", *TINY, "--trials", "3", "--out", str(out), "--plots", "false"]) == 0
    err = capsys.readouterr().err
    assert "resuming with 2 finished trials" in err and "trial 2 " in err
    assert "trial 0 " not in err  # reported by the first run, not again
    after = _study(out).get_trials()
    assert len(after) == 3 and after[0].params == trials[0].params


def test_a_failing_trial_is_kept_with_its_reason(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # every sampled std_final lies above init_std 1.0: train's own check fails the trial
    space = tmp_path / "space.yaml"
    space.write_text("params:\n  std_final: {low: 2.0, high: 3.0}\n")
    out = tmp_path / "tune"
    assert main(["tune", *TINY, "--trials", "2", "--space", str(space), "--out", str(out),
                 "--plots", "false"]) == 1
    captured = capsys.readouterr()
    assert "trial 0 fail: UserError: --std-final" in captured.err
    assert "no trial completed" in captured.out
    trials = _study(out).get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "FAIL"]
    assert "must be below --init-std" in trials[1].user_attrs["error"]
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert [r["state"] for r in rows] == ["FAIL", "FAIL"] and "--std-final" in rows[0]["error"]
    assert not (out / "best.yaml").exists()
