"""GAE against numbers worked out by hand (T=4, N=2, γ=0.5, λ=0.5, so γλ=0.25).

env 0: rewards 1,1,1,1; values 1,2,3,4; TERMINATED at t=1; V(s_4)=5
  t=3: δ=1+0.5·5−4=−0.5              A=−0.5
  t=2: δ=1+0.5·4−3=0                 A=0+0.25·(−0.5)=−0.125
  t=1: δ=1+0−2=−1 (no bootstrap)     A=−1 (no carry across the episode end)
  t=0: δ=1+0.5·2−1=1                 A=1+0.25·(−1)=0.75
env 1: rewards 0,0,1,0; values 2,2,2,2; TRUNCATED at t=2 with V(final obs)=10; V(s_4)=6
  t=3: δ=0+0.5·6−2=1                 A=1
  t=2: δ=1+0.5·10−2=4 (bootstrap)    A=4 (no carry)
  t=1: δ=0+0.5·2−2=−1                A=−1+0.25·4=0
  t=0: δ=0+0.5·2−2=−1                A=−1+0.25·0=−1
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.ppo import PPO, PPOParams
from robot_ppo.algo.storage import RolloutStorage

EXPECTED_ADV = np.array([[0.75, -1.0], [-1.0, 0.0], [-0.125, 4.0], [-0.5, 1.0]],
                        dtype=np.float32)
VALUES = np.array([[1, 2], [2, 2], [3, 2], [4, 2]], dtype=np.float32)


def _fill(storage: RolloutStorage) -> None:
    rewards = np.array([[1, 0], [1, 0], [1, 1], [1, 0]], dtype=np.float32)
    dones = np.array([[0, 0], [1, 0], [0, 1], [0, 0]], dtype=np.float32)
    boot = np.array([[0, 0], [0, 0], [0, 10], [0, 0]], dtype=np.float32)
    for t in range(4):
        storage.add_policy_step(np.zeros((2, 1)), None, np.zeros((2, 1)), np.zeros(2),
                                VALUES[t])
        storage.add_env_step(rewards[t], dones[t], boot[t])


def test_gae_hand_computed_termination_and_truncation() -> None:
    storage = RolloutStorage(4, 2, obs_dim=1, act_dim=1)
    _fill(storage)
    storage.compute_returns(np.array([5.0, 6.0]), gamma=0.5, lam=0.5)
    np.testing.assert_allclose(storage.advantages.numpy(), EXPECTED_ADV, atol=1e-6)
    np.testing.assert_allclose(storage.returns.numpy(), EXPECTED_ADV + VALUES, atol=1e-6)


def test_storage_overflow_and_incomplete_fail_loudly() -> None:
    storage = RolloutStorage(4, 2, obs_dim=1, act_dim=1)
    try:
        storage.compute_returns(np.zeros(2), 0.9, 0.9)
    except RuntimeError as exc:
        assert "incomplete" in str(exc)
    else:
        raise AssertionError("compute_returns on an empty storage must fail")
    _fill(storage)
    try:
        storage.add_policy_step(np.zeros((2, 1)), None, np.zeros((2, 1)), np.zeros(2),
                                np.zeros(2))
    except RuntimeError as exc:
        assert "overflow" in str(exc)
    else:
        raise AssertionError("writing past T must fail")


def test_process_step_bootstraps_truncation_with_final_obs_value() -> None:
    """Through the PPO verbs: a truncated env's bootstrap is V(final_obs) of the model;
    a terminated one gets none, even when final_obs is given."""
    torch.manual_seed(0)
    model = ActorCritic(3, 1)
    ppo = PPO(model, PPOParams(reward_scaling=False), num_envs=3, num_steps=1)
    ppo.act(np.random.default_rng(1).normal(size=(3, 3)).astype(np.float32))
    final_obs = np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)
    ppo.process_step(np.ones(3, dtype=np.float32), terminated=np.array([False, True, False]),
                     truncated=np.array([True, False, False]), final_obs=final_obs)
    with torch.no_grad():
        v_final = model.value(torch.from_numpy(final_obs))
    boot = ppo.storage.bootstrap_values[0]
    assert boot[0].item() == pytest.approx(v_final[0].item(), rel=1e-5)
    assert abs(boot[0].item()) > 1e-4
    assert boot[1].item() == 0.0 and boot[2].item() == 0.0
    np.testing.assert_array_equal(ppo.storage.dones[0].numpy(), [1.0, 1.0, 0.0])
