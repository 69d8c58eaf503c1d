"""Learning, end to end through the CLI with its defaults.

Pendulum-v1 with 100k steps is the done-when check (`robot-ppo train --env Pendulum-v1
--steps 100000` → mean_return ≥ −400); it takes ~6 s on one core, ~20 s on a busy
2-core machine, so it stays in the default suite. The cartpole robot test runs once the
simulator package `sim` is importable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _train(tmp_path: Path, *args: str, timeout: float) -> dict:
    """Train through the CLI; the summary. (Speed is measured by bench/, not asserted here:
    the shared machines are too noisy for a wall-time bound.)"""
    proc = subprocess.run([sys.executable, "-m", "robot_ppo.cli", "train", *args,
                           "--out", str(tmp_path / "run"), "--progress", "false",
                           "--tensorboard", "false"],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads((tmp_path / "run" / "summary.json").read_text())


def test_pendulum_learns_with_defaults(tmp_path: Path) -> None:
    summary = _train(tmp_path, "--env", "Pendulum-v1", "--steps", "100000", timeout=300)
    assert summary["env_steps"] >= 100_000
    assert summary["mean_return"] >= -400, summary  # random policy: about −1200


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pendulum_learns_other_seeds(tmp_path: Path, seed: int) -> None:
    summary = _train(tmp_path, "--env", "Pendulum-v1", "--steps", "100000", "--seed",
                        str(seed), timeout=300)
    assert summary["mean_return"] >= -400, summary


def test_pendulum_improves_in_worker_processes(tmp_path: Path) -> None:
    """The multi-process collection path learns too (smaller budget, looser threshold)."""
    summary = _train(tmp_path, "--env", "Pendulum-v1", "--steps", "61440", "--workers",
                        "2", timeout=300)
    assert summary["mean_return"] >= -800, summary  # random policy: about −1200


def test_cartpole_robot_balances(tmp_path: Path) -> None:
    pytest.importorskip("sim")
    from robot_ppo.spec import load_spec

    max_return = load_spec("cartpole").task.episode_steps  # +1 per step alive
    summary = _train(tmp_path, "--robot", "cartpole", timeout=600)
    assert summary["robot"] == "cartpole"
    assert summary["mean_return"] >= 0.95 * max_return, summary
