"""Mean-action ADR probes (robot_ppo/train/adr_probes.py, `--adr-probe-envs`): real cartpole
envs and real models; the probes run exactly the policy's mean action, feed ADR and nothing
else, and the trainer logs them without counting their steps."""

from __future__ import annotations

import csv
import functools
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch

import sim
from robot_ppo.algo.policy import ActorCritic
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.train.adr_probes import PROBE_SEED_OFFSET, AdrProbes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def probe_env(group: str) -> object:
    return sim.make_env("cartpole", "adr", adr_group=group, adr_role="probe")


def model(kind: str, obs_dim: int, act_dim: int) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "gru":
        return RecurrentActorCritic(obs_dim, act_dim, rnn_hidden=16, hidden=(16,))
    return ActorCritic(obs_dim, act_dim, hidden=(16,))


@pytest.mark.parametrize("kind", ["mlp", "gru"])
def test_probes_run_the_mean_action_and_reset_the_state_per_episode(kind: str) -> None:
    group = uuid.uuid4().hex
    ref = probe_env(group)
    obs_dim, act_dim = ref.observation_space.shape[0], ref.action_space.shape[0]
    net = model(kind, obs_dim, act_dim)
    low, high = ref.action_space.low, ref.action_space.high
    norm_before = {k: v.clone() for k, v in net.state_dict().items()}
    probes = AdrProbes(functools.partial(probe_env, group), 2, net, low, high, seed=5)
    # replay probe 0 by hand: same seed, the model's mean, a hidden state zeroed at ends
    obs, _ = ref.reset(seed=5 + PROBE_SEED_OFFSET)
    h = net.zero_state(1) if kind == "gru" else None
    ends = 0
    for _ in range(300):
        probes.step()
        with torch.no_grad():
            x = torch.as_tensor(obs, dtype=torch.float32)[None]
            if h is None:
                mean = net.actor_mean(x)
            else:
                mean, _, h = net.step_raw(x, h)
        obs, _, term, trunc, _ = ref.step(np.clip(mean.numpy()[0], low, high))
        if term or trunc:
            ends += 1
            obs, _ = ref.reset()
            h = None if h is None else net.zero_state(1)
        np.testing.assert_allclose(probes.obs[0], obs, rtol=0, atol=1e-6)
    assert ends >= 1, "no episode ended: the reset of the hidden state went untested"
    assert probes.episodes >= ends
    assert len(probes.performances) == min(probes.episodes, 20)
    assert 0.0 <= probes.mean_performance() <= 1.0
    # the normalizer (and every weight) is only read
    for k, v in net.state_dict().items():
        assert torch.equal(v, norm_before[k]), k
    # the probes' episode ends fed this process's ADR (reference or queues)
    state = ref.unwrapped.get_adr_state()
    fed = len(state["reference"]) + sum(len(q) for s in state["queues"].values()
                                        for q in s.values())
    assert fed > 0
    probes.close()
    ref.close()


def test_train_with_probes_logs_them_and_keeps_the_batch(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "robot_ppo.cli", "train", "--robot", "cartpole",
         "--dynamics", "adr", "--adr-probe-envs", "2", "--envs", "4", "--rollout-steps", "256",
         "--steps", "4096", "--out", str(out), "--tensorboard", "false", "--seed", "3"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["env_steps"]) for r in rows] == [1024 * (i + 1) for i in range(4)]
    last = rows[-1]
    # 2 probes × 1024 steps: at least one cartpole episode ended (the random policy
    # drops the pole within a few hundred steps)
    assert float(last["adr/probe_episodes"]) >= 1
    assert 0.0 <= float(last["adr/probe_performance"]) <= 1.0
    assert "adr/performance" in last  # the training envs' own (sampled) performance
