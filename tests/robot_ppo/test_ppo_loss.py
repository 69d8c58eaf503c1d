"""The PPO loss terms against the formulas evaluated independently in numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robot_ppo.algo.distributions import gaussian_entropy, gaussian_log_prob
from robot_ppo.algo.ppo import explained_variance, ppo_losses


def _numpy_losses(new_lp, old_lp, adv, v, v_old, ret, ent, clip, vclip, vf, ec):
    ratio = np.exp(new_lp - old_lp)
    unclipped = ratio * adv
    clipped = np.clip(ratio, 1 - clip, 1 + clip) * adv
    policy = -np.mean(np.minimum(unclipped, clipped))
    if vclip > 0:
        v_c = v_old + np.clip(v - v_old, -vclip, vclip)
        value = 0.5 * np.mean(np.maximum((v - ret) ** 2, (v_c - ret) ** 2))
    else:
        value = 0.5 * np.mean((v - ret) ** 2)
    entropy = np.mean(ent)
    kl = np.mean((ratio - 1) - np.log(ratio))
    clipfrac = np.mean(np.abs(ratio - 1) > clip)
    return policy + vf * value - ec * entropy, policy, value, entropy, kl, clipfrac


@pytest.mark.parametrize("value_clip", [0.0, 0.3])
def test_clipped_loss_matches_numpy(value_clip: float) -> None:
    rng = np.random.default_rng(1)
    n = 257
    old_lp = rng.normal(size=n)
    new_lp = old_lp + rng.normal(scale=0.3, size=n)  # many ratios outside [0.8, 1.2]
    adv = rng.normal(size=n)
    v_old = rng.normal(size=n)
    v = v_old + rng.normal(scale=0.5, size=n)
    ret = rng.normal(size=n)
    ent = rng.normal(size=n)
    expected = _numpy_losses(new_lp, old_lp, adv, v, v_old, ret, ent, 0.2, value_clip, 0.7,
                             0.01)
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    terms = ppo_losses(t(new_lp), t(old_lp), t(adv), t(v), t(v_old), t(ret), t(ent),
                       clip=0.2, value_clip=value_clip, vf_coef=0.7, ent_coef=0.01)
    got = [terms.total, terms.policy, terms.value, terms.entropy, terms.approx_kl,
           terms.clip_fraction]
    for g, e in zip(got, expected):
        assert g.item() == pytest.approx(float(e), rel=1e-9, abs=1e-12)
    assert 0.05 < terms.clip_fraction.item() < 0.95  # the clip branch is exercised


def test_gradient_is_zero_where_clipped() -> None:
    """A ratio above 1+ε with positive advantage contributes no policy gradient."""
    new_lp = torch.tensor([math.log(1.5), math.log(1.05)], requires_grad=True)
    terms = ppo_losses(new_lp, torch.zeros(2), torch.ones(2), torch.zeros(2), torch.zeros(2),
                       torch.zeros(2), torch.zeros(2), 0.2, 0.0, 0.5, 0.0)
    terms.policy.backward()
    assert new_lp.grad is not None
    assert new_lp.grad[0].item() == 0.0
    assert new_lp.grad[1].item() == pytest.approx(-1.05 / 2)


def test_closed_form_gaussian_matches_torch_distributions() -> None:
    torch.manual_seed(0)
    mean, log_std = torch.randn(5, 3), torch.randn(5, 3) * 0.5
    actions = torch.randn(5, 3)
    ref = torch.distributions.Normal(mean, log_std.exp())
    torch.testing.assert_close(gaussian_log_prob(actions, mean, log_std),
                               ref.log_prob(actions).sum(-1))
    torch.testing.assert_close(gaussian_entropy(log_std, 3), ref.entropy().sum(-1))


def test_explained_variance() -> None:
    target = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(target, target) == pytest.approx(1.0)
    assert explained_variance(torch.full((4,), 2.5), target) == pytest.approx(0.0)
