"""The hand-written PPO gradient equals autograd's on every configuration it claims."""

from __future__ import annotations

import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.manual_grad import ManualLoss, supports
from robot_ppo.algo.ppo import ppo_losses


@pytest.mark.parametrize("activation", ["tanh", "elu", "relu"])
@pytest.mark.parametrize("value_clip", [0.0, 0.2])
@pytest.mark.parametrize("privileged", [None, 2])
def test_manual_gradient_matches_autograd(activation: str, value_clip: float,
                                          privileged: int | None) -> None:
    torch.manual_seed(0)
    model = ActorCritic(5, 3, hidden=(16, 8), activation=activation,  # type: ignore[arg-type]
                        critic_obs_dim=privileged).double()
    with torch.no_grad():  # move away from init so clipping and ReLU kinks both occur
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    n = 64
    obs = torch.randn(n, 5, dtype=torch.float64)
    priv = torch.randn(n, privileged, dtype=torch.float64) if privileged else None
    actions = torch.randn(n, 3, dtype=torch.float64)
    with torch.no_grad():
        lp, _, v = model.evaluate(obs, actions, priv)
    old_lp = lp + 0.3 * torch.randn(n, dtype=torch.float64)
    old_v = v + 0.3 * torch.randn(n, dtype=torch.float64)
    adv = torch.randn(n, dtype=torch.float64)
    ret = torch.randn(n, dtype=torch.float64)
    args = dict(clip=0.2, value_clip=value_clip, vf_coef=0.7, ent_coef=0.05)

    model.zero_grad()
    new_lp, ent, values = model.evaluate(obs, actions, priv)
    ref = ppo_losses(new_lp, old_lp, adv, values, old_v, ret, ent, **args)
    ref.total.backward()
    expected = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad()

    assert supports(model)
    np_args = [None if x is None else x.numpy()
               for x in (obs, priv, actions, old_lp, adv, old_v, ret)]
    got = ManualLoss(model)(*np_args, **args)
    for a, b in zip(got, ref):
        assert a == pytest.approx(b.item(), rel=1e-9, abs=1e-12)
    assert 0.0 < ref.clip_fraction.item() < 1.0
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], msg=name)


def test_state_dependent_std_is_not_claimed() -> None:
    assert not supports(ActorCritic(3, 1, std_mode="state_dependent"))
