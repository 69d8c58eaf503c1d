"""VecEnv: SAME_STEP autoreset with the true final observation, in-process and in workers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from robot_ppo.train.vec_env import GymEnvFactory, VecEnv


def _reference(seed: int, actions: np.ndarray) -> list[tuple[np.ndarray, float, bool]]:
    """One plain env driven by the same actions: (obs after step, reward, truncated)."""
    env = gym.make("Pendulum-v1", max_episode_steps=3)
    env.reset(seed=seed)
    out = []
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        out.append((obs, float(r), bool(trunc)))
        if term or trunc:
            env.reset()
    return out


@pytest.mark.parametrize("workers", [0, 2])
def test_same_step_autoreset_returns_final_obs(workers: int) -> None:
    factory = GymEnvFactory("Pendulum-v1", {"max_episode_steps": 3})
    rng = np.random.default_rng(0)
    actions = rng.uniform(-2, 2, size=(7, 2, 1)).astype(np.float32)
    refs = [_reference(10 + i, actions[:, i]) for i in range(2)]
    with VecEnv(factory, num_envs=2, workers=workers) as venv:
        assert venv.workers == workers
        venv.reset(seed=10)
        returns = []
        for t in range(7):
            step = venv.step(actions[t])
            for i in range(2):
                obs, r, trunc = refs[i][t]
                assert step.truncated[i] == trunc and not step.terminated[i]
                assert step.rewards[i] == pytest.approx(r, rel=1e-6)
                if trunc:
                    np.testing.assert_allclose(step.final_obs[i], obs, rtol=1e-6)
                    assert not np.allclose(step.obs[i], obs)  # already the next episode
                else:
                    np.testing.assert_allclose(step.obs[i], obs, rtol=1e-6)
            returns += step.episode_returns
            assert all(n == 3 for n in step.episode_lengths)
        assert len(returns) == 4  # two episodes of 3 steps in each env within 7 steps
        expected = [sum(x[1] for x in refs[i][k * 3:(k + 1) * 3]) for k in range(2)
                    for i in range(2)]
        assert sorted(returns) == pytest.approx(sorted(expected), rel=1e-5)
