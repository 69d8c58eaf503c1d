"""Gymnasium API: registration, check_env, seeding, terminated vs truncated."""

from __future__ import annotations

import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import sim
from robot_ppo.spec import load_spec

IDS = ["RobotPPO/CartPole-v0", "RobotPPO/ArmReach-v0", "RobotPPO/Quadruped-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_registered_envs_pass_check_env(env_id: str) -> None:
    env = gym.make(env_id, dynamics="randomized", render_mode="rgb_array")
    check_env(env.unwrapped)
    env.close()


def test_custom_id_passes_check_env(custom_spec_path: Path) -> None:
    env = gym.make("RobotPPO/Custom-v0", spec=str(custom_spec_path), dynamics="randomized")
    check_env(env.unwrapped, skip_render_check=True)


def test_make_kwargs_are_picklable_and_accept_dicts() -> None:
    kwargs = {"spec": load_spec("cartpole").to_dict(), "dynamics": "shifted"}
    env = gym.make("RobotPPO/CartPole-v0", **pickle.loads(pickle.dumps(kwargs)))
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape


def test_list_robots() -> None:
    assert {"cartpole", "arm", "quadruped"} <= set(sim.list_robots())


def _rollout(env: gym.Env, seed: int, steps: int) -> tuple[np.ndarray, list[float]]:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out, rewards = [obs], []
    for _ in range(steps):
        obs, r, term, trunc, _ = env.step(env.action_space.sample())
        out.append(obs)
        rewards.append(r)
        if term or trunc:
            obs, _ = env.reset()
    return np.array(out), rewards


@pytest.mark.parametrize("robot", ["cartpole", "quadruped"])
def test_same_seed_same_rollout_different_seed_differs(robot: str) -> None:
    env = sim.make_env(robot, "randomized")
    a, ra = _rollout(env, 7, 60)
    b, rb = _rollout(env, 7, 60)
    c, _ = _rollout(env, 8, 60)
    np.testing.assert_array_equal(a, b)
    assert ra == rb
    assert not np.allclose(a, c)


def test_truncated_at_episode_steps_not_terminated(custom_spec_path: Path) -> None:
    # nominal dynamics and zero torque: the stick starts upright and cannot fall in 50 steps
    env = sim.make_env(custom_spec_path, "nominal")
    env.reset(seed=0)
    env.unwrapped.sim.robot.reset_state(np.zeros(2), np.zeros(2))
    env.unwrapped._true = env.unwrapped.sim.true_state()
    for i in range(50):
        _, _, term, trunc, _ = env.step(np.zeros(1, np.float32))
        assert not term
        assert trunc == (i == 49)


def test_terminated_when_pole_falls() -> None:
    env = sim.make_env("cartpole", "nominal", seed=0)
    steps = 0
    while True:  # full force one way: the pole tips over long before 500 steps
        _, _, term, trunc, _ = env.step(np.ones(1, np.float32))
        steps += 1
        if term or trunc:
            break
    assert term and not trunc and steps < 500


def test_rgb_array_render_is_an_image() -> None:
    env = sim.make_env("cartpole", "nominal", seed=0, render_mode="rgb_array", width=64,
                       height=48)
    img = env.render()
    assert img is not None and img.shape == (48, 64, 3) and img.dtype == np.uint8
    assert img.min() < 200  # something was drawn


def test_spec_from_dict_uses_the_builtin_urdf() -> None:
    """A spec rebuilt from a dict (checkpoint) has no directory: still the same robot."""
    from robot_ppo.spec import spec_from_dict

    a = sim.make_env("cartpole", "nominal", seed=0)
    b = sim.make_env(spec_from_dict(load_spec("cartpole").to_dict()), "nominal", seed=0)
    for _ in range(30):
        oa = a.step(np.ones(1, np.float32))[0]
        ob = b.step(np.ones(1, np.float32))[0]
    np.testing.assert_array_equal(oa, ob)
