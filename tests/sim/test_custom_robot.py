"""A user's own URDF + spec YAML works exactly like a built-in robot."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

import sim
from robot_ppo.action import ActionMapping
from robot_ppo.spec import load_spec


def test_custom_robot_env(custom_spec_path: Path) -> None:
    spec = load_spec(custom_spec_path)
    assert spec.gym_id == "RobotPPO/CartPole-v0"  # task 'balance'
    env = gym.make(spec.gym_id, spec=str(custom_spec_path), dynamics="randomized")
    obs, info = env.reset(seed=0)
    assert obs.shape == (4,) and env.action_space.shape == (1,)
    assert info["dynamics"]["payload_kg"] <= 0.02
    robot = env.unwrapped.sim.robot
    # bus order maps to the URDF joints by name, whatever their index in the file
    assert robot.joint_index == [0, 1]
    # a constant push moves the sled the way the spec's action scale says
    x0 = env.unwrapped.sim.true_state().q[0]
    for _ in range(10):
        env.step(np.ones(1, np.float32))
    assert env.unwrapped.sim.true_state().q[0] > x0 + 0.01
    assert np.isclose(env.unwrapped.sim.true_state().tau[0],
                      ActionMapping(spec).targets(np.ones(1))[0]
                      * info["dynamics"]["motor_strength"] ** 0, rtol=0.25)


def test_custom_robot_by_dict_and_path_are_the_same(custom_spec_path: Path) -> None:
    spec = load_spec(custom_spec_path)
    a = sim.make_env(custom_spec_path, "nominal", seed=1)
    b = sim.make_env(spec, "nominal", seed=1)
    for _ in range(20):
        oa = a.step(np.full(1, 0.5, np.float32))[0]
        ob = b.step(np.full(1, 0.5, np.float32))[0]
    np.testing.assert_array_equal(oa, ob)
