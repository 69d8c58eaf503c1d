"""A whole `PPO.update()` (several epochs of shuffled minibatches, gradient clipping, Adam)
leaves the same parameters with the hand-written numpy gradient (manual_grad=True) as with
autograd (manual_grad=False), from the same model, the same rollout and the same shuffles.

test_algo_manual_grad.py holds one minibatch's gradient equal in float64; this holds the
composition equal in float32, as training runs it. Tolerance: 1e-6 absolute per parameter.
The two paths sum in different orders, so they differ by float32 rounding (measured: at
most 1.2e-7 after 16 steps, while the update moves the weights by ~1.6e-2); one gradient
term wrong or missing moves a weight by ~lr = 1e-3 per step, far outside it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.ppo import PPO, PPOParams
from robot_ppo.train.config import TrainConfig

N_ENVS, N_STEPS, OBS, ACT = 4, 64, 5, 2  # 256 samples: 4 minibatches of 64 per epoch


def _rollout_and_update(manual: bool, activation: str, value_clip: float,
                        privileged: int | None, adv_norm: str
                        ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor],
                                   dict[str, float], PPO]:
    torch.manual_seed(0)
    model = ActorCritic(OBS, ACT, hidden=(32, 32), activation=activation,  # type: ignore[arg-type]
                        critic_obs_dim=privileged)
    params = PPOParams(epochs=4, minibatch_size=64, lr=1e-3, value_clip=value_clip,
                       ent_coef=0.01, adv_norm=adv_norm, manual_grad=manual)  # type: ignore[arg-type]
    ppo = PPO(model, params, num_envs=N_ENVS, num_steps=N_STEPS)
    rng = np.random.default_rng(7)  # the env: same observations, rewards and episode ends

    def priv() -> np.ndarray | None:
        return (rng.normal(size=(N_ENVS, privileged)).astype(np.float32)
                if privileged else None)

    for _ in range(N_STEPS):
        obs = rng.normal(size=(N_ENVS, OBS)).astype(np.float32)
        actions = ppo.act(obs, priv())
        rewards = (-(actions ** 2).sum(1) + rng.normal(size=N_ENVS)).astype(np.float32)
        terminated, truncated = rng.random(N_ENVS) < 0.03, rng.random(N_ENVS) < 0.03
        ppo.process_step(rewards, terminated, truncated,
                         rng.normal(size=(N_ENVS, OBS)).astype(np.float32), priv())
    ppo.compute_returns(rng.normal(size=(N_ENVS, OBS)).astype(np.float32), priv())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(1)  # the minibatch shuffles
    losses = ppo.update()
    return before, model.state_dict(), losses, ppo


@pytest.mark.parametrize(("activation", "value_clip", "privileged", "adv_norm"), [
    ("tanh", 0.0, None, "batch"),
    ("elu", 0.2, 3, "minibatch"),
    ("relu", 0.2, None, "batch"),
    ("tanh", 0.2, 3, "minibatch"),
])
def test_update_is_the_same_with_manual_gradients_and_autograd(
        activation: str, value_clip: float, privileged: int | None, adv_norm: str) -> None:
    b_np, after_np, losses_np, ppo_np = _rollout_and_update(
        True, activation, value_clip, privileged, adv_norm)
    b_ag, after_ag, losses_ag, ppo_ag = _rollout_and_update(
        False, activation, value_clip, privileged, adv_norm)
    assert ppo_np.manual_loss is not None and ppo_ag.manual_loss is None  # the switch works
    assert losses_np["updates"] == losses_ag["updates"] == 16.0  # 4 epochs x 4 minibatches
    for name in b_np:  # same start: the same rollout (normalizer statistics included)
        torch.testing.assert_close(b_np[name], b_ag[name], rtol=0.0, atol=0.0, msg=name)
    moved = max((after_np[k] - b_np[k]).abs().max().item() for k in after_np)
    assert moved > 1e-3  # the update really moved the weights
    for name in after_np:
        torch.testing.assert_close(after_np[name], after_ag[name], rtol=0.0, atol=1e-6,
                                   msg=name)
    for key in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"):
        assert losses_np[key] == pytest.approx(losses_ag[key], rel=1e-4, abs=1e-6), key


def test_train_config_selects_the_update_path() -> None:
    assert TrainConfig().ppo.manual_grad is True
    assert TrainConfig.flat(manual_grad=False).ppo.manual_grad is False
