"""The numpy collection policy equals the torch model, and shares its memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.numpy_policy import NumpyPolicy
from robot_ppo.algo.optim import FlatAdam


@pytest.mark.parametrize("activation", ["tanh", "elu", "relu"])
@pytest.mark.parametrize("std_mode", ["state_independent", "state_dependent"])
@pytest.mark.parametrize("privileged", [None, 3])
def test_numpy_policy_matches_torch(activation: str, std_mode: str,
                                    privileged: int | None) -> None:
    torch.manual_seed(0)
    model = ActorCritic(4, 2, hidden=(32, 16), activation=activation,  # type: ignore[arg-type]
                        std_mode=std_mode, critic_obs_dim=privileged)  # type: ignore[arg-type]
    opt = FlatAdam(list(model.parameters()), lr=1e-3)  # parameters move into a flat buffer
    policy = NumpyPolicy(model, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    obs = rng.normal(3.0, 2.0, size=(16, 4)).astype(np.float32)
    priv = rng.normal(size=(16, privileged)).astype(np.float32) if privileged else None
    policy.update_stats(obs, priv)
    with torch.no_grad():  # a step of the optimizer is visible to the numpy side at once
        opt.flat_grad.normal_()
        opt.step()
        obs_t = torch.from_numpy(obs)
        priv_t = None if priv is None else torch.from_numpy(priv)
        mean_t = model.actor_mean(obs_t).numpy()
        std_t = model.action_std(obs_t).numpy()
        value_t = model.value(obs_t, priv_t).numpy()
    assert model.obs_normalizer.count.item() == 16  # stats written into the torch buffers
    np.testing.assert_allclose(model.obs_normalizer.mean.numpy(), obs.mean(0), rtol=1e-5)
    obs_n, priv_n = policy.normalize(obs, priv)
    mean, log_std = policy.mean_log_std(obs_n)
    np.testing.assert_allclose(mean, mean_t, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.broadcast_to(np.exp(log_std), mean.shape), std_t, rtol=1e-5)
    np.testing.assert_allclose(policy.value(obs, priv), value_t, rtol=1e-4, atol=1e-5)

    actions, log_prob, values = policy.sample(obs_n, priv_n)
    with torch.no_grad():
        lp_t, _, v_t = model.evaluate(torch.from_numpy(obs_n), torch.from_numpy(actions),
                                      None if priv_n is None else torch.from_numpy(priv_n))
    np.testing.assert_allclose(log_prob, lp_t.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(values, v_t.numpy(), rtol=1e-4, atol=1e-5)
