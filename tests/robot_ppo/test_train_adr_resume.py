"""`robot-ppo train --resume` of a `--dynamics adr` run continues the saved ADR ranges and
curriculum level (real trainings as subprocesses, a fresh process each, like a user's)."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.cli import main
from robot_ppo.spec import load_spec
from robot_ppo.train.checkpoint import save_checkpoint
from sim.adr_dynamics import adr_params

ADR = ["train", "--robot", "cartpole", "--dynamics", "adr", "--envs", "2",
       "--rollout-steps", "128", "--epochs", "1", "--workers", "0", "--tensorboard", "false",
       "--progress", "false"]
PARAMS = adr_params(load_spec("cartpole"))


def train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "robot_ppo.cli", *ADR, *args],
                          capture_output=True, text=True, timeout=300)


def first_logged(run: Path) -> dict[str, float]:
    """The first metrics.csv row with ADR columns (an iteration in which episodes ended)."""
    for row in csv.DictReader((run / "metrics.csv").open()):
        if row.get("adr/entropy"):
            return {k: float(v) for k, v in row.items() if v}
    raise AssertionError(f"no ADR metrics in {run / 'metrics.csv'}")


def logged_ranges(row: dict[str, float]) -> dict[str, list[float]]:
    return {p.name: [row[f"adr/{p.name}_lo"], row[f"adr/{p.name}_hi"]] for p in PARAMS}


def entropy(ranges: dict[str, Any]) -> float:
    return sum(math.log(hi - lo) for lo, hi in ranges.values() if hi > lo)


def test_resume_continues_adr_ranges_and_curriculum(tmp_path: Path) -> None:
    first = tmp_path / "first"
    proc = train("--steps", "512", "--out", str(first))
    assert proc.returncode == 0, proc.stderr
    ckpt = torch.load(first / "checkpoint.pt", weights_only=True)
    assert "adr_state" not in ckpt  # the env state has a generic key now
    state = ckpt["env_state"]
    assert set(state) == {"ranges", "queues", "reference", "curriculum"}
    assert set(state["ranges"]) == {p.name for p in PARAMS}
    for p in PARAMS:
        lo, hi = state["ranges"][p.name]
        assert p.limits[0] <= lo <= p.initial[0] and p.initial[1] <= hi <= p.limits[1]

    # a run this short never moves a range, so move them all: widest reachable ranges, a
    # raised curriculum level, empty queues (nothing can move again within one iteration)
    wide = {p.name: list(p.limits) for p in PARAMS}
    # ... saved the old way: a checkpoint from before `env_state` held it as `adr_state`
    del ckpt["env_state"]
    ckpt["adr_state"] = {"ranges": wide, "queues": {},
                         "curriculum": {"level": 0.7, "results": []}}
    moved = tmp_path / "moved.pt"
    torch.save(ckpt, moved)
    resumed = tmp_path / "resumed"
    proc = train("--steps", "1024", "--resume", str(moved), "--out", str(resumed))
    assert proc.returncode == 0, proc.stderr
    row = first_logged(resumed)
    assert row["iteration"] == ckpt["iteration"] + 1  # the resumed run's first iteration
    for name, saved in wide.items():  # the saved ranges, not the initial ones
        assert logged_ranges(row)[name] == pytest.approx(saved, abs=1e-9), name
    assert row["curriculum/level"] == pytest.approx(0.7)
    assert "note" not in proc.stderr  # nothing ignored, nothing clamped
    # the resumed run's checkpoint carries its (still wide) state on
    again = torch.load(resumed / "checkpoint.pt", weights_only=True)["env_state"]
    initial = {p.name: p.initial for p in PARAMS}
    assert entropy(again["ranges"]) > entropy(initial) + 5.0

    # an older checkpoint without any env state still resumes, from the initial ranges
    del ckpt["adr_state"]
    old = tmp_path / "old.pt"
    torch.save(ckpt, old)
    plain = tmp_path / "plain"
    proc = train("--steps", "1024", "--resume", str(old), "--out", str(plain))
    assert proc.returncode == 0, proc.stderr
    assert "holds no ADR state" in proc.stderr
    for name, saved in logged_ranges(first_logged(plain)).items():
        assert saved == pytest.approx(list(initial[name]), abs=1e-9), name


def test_malformed_adr_state_is_a_clear_error(tmp_path: Path, capsys: Any) -> None:
    ckpt = tmp_path / "bad.pt"
    save_checkpoint(ckpt, model=ActorCritic(5, 1), optimizer=None, config={},
                    env_id="RobotPPO/CartPole-v0", action_low=[-1.0], action_high=[1.0],
                    env_steps=256, iteration=1,
                    env_state={"ranges": {"friction": "wide"}, "queues": {},
                               "curriculum": {"level": 0.0, "results": []}})
    rc = main([*ADR, "--steps", "512", "--resume", str(ckpt), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "malformed ADR state" in err and "'friction'" in err
    assert "Traceback" not in err
