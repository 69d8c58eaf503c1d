"""The virtual-controller plant reproduces the env's physics exactly (no serial link here)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from firmware_bridge.plant import Plant
from robot_ppo.action import ActionMapping
from sim.plant import PyBulletPlant


@pytest.mark.parametrize("robot, dynamics", [("cartpole", "nominal"), ("quadruped", "nominal"),
                                             ("cartpole", "randomized")])
def test_plant_matches_env_step_for_step(robot: str, dynamics: str) -> None:
    env = sim.make_env(robot, dynamics)
    env.reset(seed=5)
    plant = PyBulletPlant(robot, dynamics, seed=5)
    assert isinstance(plant, Plant)
    mapping = ActionMapping(env.unwrapped.robot_spec)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(plant.read().q, env.unwrapped.sim.observed_state().q)
    for _ in range(40):
        a = rng.uniform(-1, 1, mapping.spec.act_dim)
        env.step(a.astype(np.float64))
        plant.step(mapping.to_command(mapping.targets(a)))
        ours, theirs = plant.read(), env.unwrapped.sim.observed_state()
        np.testing.assert_allclose(ours.q, theirs.q, atol=1e-12)
        np.testing.assert_allclose(ours.qd, theirs.qd, atol=1e-12)
        assert ours.t == pytest.approx(theirs.t)
    if mapping.spec.imu:
        assert plant.read().imu is not None
        assert plant.read().imu.accel[2] > 9.0  # standing: specific force points up


def test_plant_reset_reproduces_initial_state() -> None:
    plant = PyBulletPlant("cartpole", "nominal", seed=1)
    q1 = plant.read().q
    plant.step(ActionMapping(plant.spec).to_command(np.ones(1)))
    plant.reset(1)
    np.testing.assert_array_equal(plant.read().q, q1)
    assert plant.control_period_s == pytest.approx(1 / 60) and plant.motor_count == 2
