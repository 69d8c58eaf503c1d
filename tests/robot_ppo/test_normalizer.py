"""Running statistics equal numpy's over everything seen; clipping; reward scaling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.normalizer import RewardScaler, RunningMeanStd
from robot_ppo.algo.numpy_policy import NumpyPolicy


@pytest.mark.parametrize("path", ["torch", "collection"])
def test_running_mean_var_equals_numpy_over_many_batches(path: str) -> None:
    """Both update paths: the module's own `update`, and the numpy merge the collection
    loop runs on views of the same buffers (NumpyPolicy.update_stats)."""
    rng = np.random.default_rng(0)
    model = ActorCritic(4, 1)
    rms = model.obs_normalizer
    policy = NumpyPolicy(model, np.random.default_rng(0))
    seen = []
    for i in range(200):
        batch = rng.normal(loc=[3.0, -1.0, 100.0, 0.0], scale=[1.0, 0.01, 20.0, 5.0],
                           size=(int(rng.integers(1, 33)), 4)).astype(np.float32)
        if i % 50 == 0:
            batch += 7.0  # drift: the merge must stay exact, not approximately stationary
        if path == "torch":
            rms.update(torch.from_numpy(batch))
        else:
            policy.update_stats(batch, None)
        seen.append(batch)
    data = np.concatenate(seen).astype(np.float64)
    assert rms.count.item() == len(data)
    np.testing.assert_allclose(rms.mean.numpy(), data.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rms.var.numpy(), data.var(0), rtol=1e-5)


def test_normalize_and_clip() -> None:
    rms = RunningMeanStd(2, clip=5.0)
    rms.update(torch.tensor([[0.0, 10.0], [2.0, 30.0]]))  # mean 1, 20; var 1, 100
    out = rms.normalize(torch.tensor([[2.0, 40.0], [1000.0, 20.0]]))
    torch.testing.assert_close(out, torch.tensor([[1.0, 2.0], [5.0, 0.0]]), atol=1e-5,
                               rtol=0)


def test_normalizer_is_in_the_state_dict_and_frozen_outside_collection() -> None:
    model = ActorCritic(3, 1)
    state = model.state_dict()
    assert {"obs_normalizer.mean", "obs_normalizer.var", "obs_normalizer.count"} <= set(state)
    before = model.obs_normalizer.mean.clone()
    model.actor_mean(torch.randn(8, 3) + 5)  # inference never moves the statistics
    torch.testing.assert_close(model.obs_normalizer.mean, before)


def test_reward_scaler_uses_discounted_return_std() -> None:
    rng = np.random.default_rng(3)
    scaler = RewardScaler(num_envs=2, gamma=0.9)
    ret = np.zeros(2)
    history = []
    for _ in range(300):
        r = rng.normal(2.0, 1.0, size=2).astype(np.float32)
        done = rng.random(2) < 0.05
        out = scaler(r, done)
        ret = ret * 0.9 + r
        history.append(ret.copy())
        ret[done] = 0.0
        np.testing.assert_allclose(out, r / np.sqrt(np.var(np.concatenate(history)) + 1e-8),
                                   rtol=1e-4)
