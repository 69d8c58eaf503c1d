"""Low-pass exploration noise: unit variance, autocorrelation β^k, reset at episode
starts, and it runs on the fast numpy collection path (and the recurrent one)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.noise import LowpassNoise, make_noise
from robot_ppo.algo.numpy_policy import NumpyPolicy
from robot_ppo.algo.ppo import PPO, PPOParams


@pytest.mark.parametrize("beta", [0.5, 0.9])
def test_lowpass_stationary_unit_variance_and_autocorrelation(beta: float) -> None:
    noise = LowpassNoise(64, 2, beta, np.random.default_rng(0))
    x = np.stack([noise.sample() for _ in range(2000)])  # [T, N, A]
    assert abs(x.mean()) < 0.03
    assert abs(x.var() - 1.0) < 0.04
    assert abs(x[0].var() - 1.0) < 0.35, "ε_0 ~ N(0, 1): stationary from the first step"
    for k in (1, 2, 5):
        rho = float((x[:-k] * x[k:]).mean() / x.var())
        assert abs(rho - beta ** k) < 0.03, (k, rho, beta ** k)


def test_reset_redraws_only_the_ended_envs() -> None:
    noise = LowpassNoise(2, 1, 0.99, np.random.default_rng(1))
    a = noise.sample().copy()
    noise.reset(np.array([True, False]))
    b = noise.sample()
    # env 1 continued: ε = β ε + sqrt(1 − β²) ξ stays close; env 0 was redrawn from N(0, 1)
    assert abs(b[1, 0] - 0.99 * a[1, 0]) < 0.5
    assert noise.fresh.sum() == 0


def test_white_is_default_and_bit_identical() -> None:
    torch.manual_seed(0)
    m = ActorCritic(3, 2)
    ppo = PPO(m, PPOParams(), num_envs=4, num_steps=8)
    assert isinstance(ppo.policy, NumpyPolicy) and ppo.policy.noise is None
    with pytest.raises(ValueError):
        make_noise("pink", 1, 1, 0.5, np.random.default_rng(0))


def test_lowpass_on_numpy_collection_path() -> None:
    """PPO with noise=lowpass on the MLP fast path: consecutive action noises correlate and
    the stored log-probs are those of the sampled actions under the policy."""
    torch.manual_seed(0)
    m = ActorCritic(3, 1, normalize_obs=False)
    ppo = PPO(m, PPOParams(noise="lowpass", noise_beta=0.95), num_envs=16, num_steps=64)
    assert isinstance(ppo.policy, NumpyPolicy) and ppo.manual_loss is not None
    obs = np.zeros((16, 3), dtype=np.float32)  # fixed obs: action − μ is σ·ε
    acts = []
    for _ in range(64):
        acts.append(ppo.act(obs).copy())
        ppo.process_step(np.zeros(16, np.float32), np.zeros(16, bool), np.zeros(16, bool))
    a = np.stack(acts)[..., 0]
    eps = a - a.mean()
    rho = float((eps[:-1] * eps[1:]).mean() / eps.var())
    assert rho > 0.85
    st = ppo.storage
    with torch.no_grad():
        logp, _, _ = m.evaluate(st.obs.view(-1, 3), st.actions.view(-1, 1))
    torch.testing.assert_close(logp, st.log_probs.view(-1), atol=1e-5, rtol=0)
    ppo.compute_returns(obs)
    assert np.isfinite(ppo.update()["policy_loss"])
