"""Parity: the same policy and seed (a) directly in simulation and (b) through the runtime,
the serial protocol and the virtual controller (PyBullet plant, lock-step, zero latency).
The joint trajectories must agree within 1e-4 (the wire's fixed point is 1e-6 rad)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from deploy.export import export_policy
from deploy.inference import OnnxPolicy
from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.rollout_format import read_rollouts
from robot_ppo.spec import load_spec

SEED = 3
STEPS = 150
# A linear balancing controller (a = K·obs): stable, so rounding differences do not grow.
GAINS = [1.0, 8.0, 3.0, 3.0]


def balancing_actor() -> ActorCritic:
    """The linear controller a = GAINS·obs as an ActorCritic (no hidden layers)."""
    model = ActorCritic(4, 1, hidden=())
    with torch.no_grad():
        model.mu.weight.copy_(torch.tensor([GAINS]))
        model.mu.bias.zero_()
    return model.eval()


@pytest.fixture(scope="module")
def balancing_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = load_spec("cartpole")
    model = balancing_actor()
    rng = np.random.default_rng(0)
    # the cartpole's own range: a linear model has no normalizer clip to bound its output,
    # and float32 rounding of |mean| ~ 1e4 (for |obs| ~ 1e3) would exceed 1e-5
    obs = rng.uniform(-3.0, 3.0, size=(1500, 4))
    path, _ = export_policy(model, obs_dim=4, act_dim=1, spec=spec, action_low=[-1.0],
                            action_high=[1.0], out_path=tmp_path_factory.mktemp("par") / "p.onnx",
                            parity_obs=obs, env_id=spec.gym_id)
    return path


def sim_trajectory(policy_path: Path, steps: int) -> np.ndarray:
    import sim
    spec = load_spec("cartpole")
    env = sim.make_env(spec, dynamics="nominal")
    pol = OnnxPolicy(policy_path, provider="cpu", log=lambda s: None)
    obs, _ = env.reset(seed=SEED)
    qs = []
    try:
        for _ in range(steps):
            qs.append(env.unwrapped.sim.observed_state().q.copy())
            _, mean, _ = pol.step(obs)
            obs, _, term, _trunc, _ = env.step(mean.astype(np.float64))
            assert not term, "the balancing policy should not fail"
    finally:
        env.close()
    return np.array(qs)


def test_sim_and_serial_trajectories_match(balancing_policy: Path, tmp_path: Path) -> None:
    serve = subprocess.Popen(
        [sys.executable, "-m", "robot_ppo.cli", "serve", "--robot", "cartpole", "--port", "pty",
         "--lockstep", "--dynamics", "nominal", "--seed", str(SEED),
         "--latency-ms", "0", "--watchdog-ms", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().strip()
        assert url.startswith("/dev/"), serve.stderr.read() if serve.stderr else url
        # Lock-step: the plant advances one period per command, so the loop rate only sets
        # the wall-clock pace. The torque rate limit is opened fully so that the serial path
        # applies exactly the policy's targets, as the simulation does.
        # (duration is wall time: 2.5× the steps needed, so a loaded machine that misses
        # deadlines still logs STEPS of them; only the first STEPS are compared)
        cfg = RunConfig(policy=balancing_policy, port=url, rate=300.0,
                        duration=2.5 * STEPS / 300.0, log_dir=str(tmp_path / "log"),
                        torque_rate_limit=20.0, rt_priority=0, cpu=-2, standby_s=0.05,
                        damping_s=0.0, rate_margin=50.0, link_timeout_ms=1000.0,
                        stats_file="", quiet=True)
        summary = Runtime(cfg).run()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)
    assert not summary["fault"], summary["stop_reason"]
    ep = read_rollouts(tmp_path / "log").episodes[0]
    serial_q = np.asarray(ep["q"])
    assert len(serial_q) >= STEPS, len(serial_q)
    direct_q = sim_trajectory(balancing_policy, STEPS)
    diff = np.abs(serial_q[:STEPS] - direct_q)
    assert np.abs(direct_q[:, 1]).max() > 1e-3, "the pole must actually move"
    assert diff.max() <= 1e-4, f"max |Δq| {diff.max():.2e} at step {int(diff.argmax() // 2)}"
