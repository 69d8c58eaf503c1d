"""Shared fixtures for deploy tests: a small real ActorCritic exported for cartpole, and
`robot-ppo serve` on a pty."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.spec import RobotSpec, load_spec


def make_actor(obs_dim: int, act_dim: int, seed: int = 0, gain: float = 300.0) -> ActorCritic:
    """An ActorCritic with fitted normalizer statistics and a mean head large enough that
    actions reach the clip (so the graph's clipping is exercised)."""
    torch.manual_seed(seed)
    m = ActorCritic(obs_dim, act_dim, hidden=(32, 32))
    m.obs_normalizer.update(torch.randn(2000, obs_dim) * 0.5 + 0.1)
    with torch.no_grad():
        m.mu.weight.mul_(gain)
        m.log_std.fill_(-0.5)
    return m.eval()


def export_for(spec: RobotSpec, path: Path, seed: int = 0, gain: float = 300.0) -> Path:
    from deploy.export import export_policy, normalizer_samples, random_samples
    from robot_ppo.observation import ObservationBuilder

    obs_dim = ObservationBuilder(spec).obs_dim
    actor = make_actor(obs_dim, spec.act_dim, seed, gain)
    rng = np.random.default_rng(seed)
    obs = np.concatenate([random_samples(obs_dim, 500, rng),
                          normalizer_samples(actor, obs_dim, 500, rng)])
    out, _ = export_policy(actor, obs_dim=obs_dim, act_dim=spec.act_dim, spec=spec,
                           action_low=[-1.0] * spec.act_dim, action_high=[1.0] * spec.act_dim,
                           out_path=path, parity_obs=obs, env_id=spec.gym_id)
    return out


@pytest.fixture(scope="session")
def cartpole() -> RobotSpec:
    return load_spec("cartpole")


@pytest.fixture(scope="session")
def cartpole_onnx(tmp_path_factory: pytest.TempPathFactory, cartpole: RobotSpec) -> Path:
    return export_for(cartpole, tmp_path_factory.mktemp("onnx") / "cartpole.onnx")


@contextmanager
def served(*args: str) -> Iterator[str]:
    """`robot-ppo serve --port pty ARGS` as a child process; yields the pty's path."""
    serve = subprocess.Popen([sys.executable, "-m", "robot_ppo.cli", "serve", "--port", "pty",
                              *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().strip()
        assert url.startswith("/dev/"), serve.stderr.read() if serve.stderr else url
        yield url
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)
