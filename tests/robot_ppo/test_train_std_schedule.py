"""--std-final: the bound on the policy std falls as documented and every rollout and
checkpoint stays under it (robot_ppo/train/std_schedule.py)."""

from __future__ import annotations

import csv
import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.models import model_from_config
from robot_ppo.algo.numpy_policy import NumpyPolicy
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.train.checkpoint import load_checkpoint
from robot_ppo.train.std_schedule import StdCap


def test_bound_falls_geometrically_then_holds() -> None:
    cap = StdCap(init_std=0.5, final_std=0.125, until_steps=1000)
    assert cap.at(0) == pytest.approx(0.5)
    assert cap.at(500) == pytest.approx(math.sqrt(0.5 * 0.125))  # geometric midpoint 0.25
    assert cap.at(1000) == pytest.approx(0.125)
    assert cap.at(5000) == pytest.approx(0.125)
    steps = [cap.at(s) for s in range(0, 1001, 100)]
    assert all(a > b for a, b in itertools.pairwise(steps))


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_apply_lowers_only_the_stds_above_the_bound(kind: str) -> None:
    model: ActorCritic | RecurrentActorCritic
    if kind == "mlp":
        model = ActorCritic(3, 2, hidden=(8,), init_std=1.0)
    else:
        model = RecurrentActorCritic(3, 2, rnn_hidden=8, hidden=(8,), init_std=1.0)
    with torch.no_grad():
        model.log_std.copy_(torch.log(torch.tensor([1.0, 0.1])))
    view = model.log_std.detach().numpy()  # what the numpy rollout path reads
    cap = StdCap(init_std=1.0, final_std=0.3, until_steps=10)
    assert cap.apply(model, 10) == pytest.approx(0.3)
    assert torch.exp(model.log_std).tolist() == pytest.approx([0.3, 0.1])
    np.testing.assert_allclose(np.exp(view), [0.3, 0.1], rtol=1e-6)
    if kind == "mlp":
        np.testing.assert_allclose(np.exp(NumpyPolicy(model, np.random.default_rng(0)).log_std),
                                   [0.3, 0.1], rtol=1e-6)


@pytest.mark.parametrize("recurrent", ["none", "gru"])
def test_training_keeps_the_std_under_the_falling_bound(tmp_path: Path, recurrent: str) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "robot_ppo.cli", "train", "--robot", "cartpole",
         "--envs", "4", "--rollout-steps", "256", "--steps", "4096", "--init-std", "1.0",
         "--std-final", "0.2", "--std-final-at", "0.5", "--ent-coef", "0.05",
         "--set", f"recurrent={recurrent}", "--out", str(out), "--tensorboard", "false"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    cap = StdCap(1.0, 0.2, 2048)
    logged = [float(r["policy/std_cap"]) for r in rows]
    assert logged == pytest.approx([cap.at(int(r["env_steps"])) for r in rows])
    assert logged[-1] == pytest.approx(0.2)
    # the entropy bonus pushes σ up; the projection after each update holds it at the bound
    ckpt = load_checkpoint(out / "checkpoint.pt")
    model = model_from_config(ckpt["model_config"])
    model.load_state_dict(ckpt["model_state"])
    assert float(torch.exp(model.log_std.detach()).max()) == pytest.approx(0.2, rel=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--std-final", "-0.1"], "--std-final must be >= 0"),
    (["--std-final", "0.2", "--std-final-at", "0"], "--std-final-at must be in (0, 1]"),
    (["--std-final", "2", "--init-std", "1"], "--std-final 2.0 must be below --init-std 1.0"),
    (["--std-final", "0.2", "--std-mode", "state_dependent"], "--std-mode state_independent"),
])
def test_bad_std_bounds_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "robot_ppo.cli", "train", "--robot", "cartpole", "--steps",
         "512", "--out", str(tmp_path / "run"), *args], capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_resuming_a_state_dependent_std_with_a_bound_is_refused(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "robot_ppo.cli", "train", "--robot", "cartpole",
            "--envs", "2", "--rollout-steps", "128", "--tensorboard", "false"]
    first = subprocess.run([*base, "--steps", "256", "--std-mode", "state_dependent",
                            "--out", str(tmp_path / "a")], capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    before = (tmp_path / "a" / "checkpoint.pt").read_bytes()
    proc = subprocess.run([*base, "--steps", "512", "--std-final", "0.2", "--resume",
                           str(tmp_path / "a" / "checkpoint.pt"), "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "state-dependent" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "a" / "checkpoint.pt").read_bytes() == before
