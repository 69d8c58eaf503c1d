"""The action-smoothness penalty r −= w·|a − a_prev|² lives in the pure task rewards."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import sim
from robot_ppo.spec import load_spec
from sim.tasks import REWARDS


def with_params(spec, **params):
    task = dataclasses.replace(spec.task, params={**spec.task.params, **params})
    return dataclasses.replace(spec, task=task)


@pytest.mark.parametrize("robot, key", [("cartpole", "action_rate"), ("arm", "action_rate")])
def test_penalty_is_weight_times_squared_action_change(robot: str, key: str) -> None:
    spec = with_params(load_spec(robot), **{key: 0.5})
    env = sim.make_env(spec, "nominal", seed=0)
    u = env.unwrapped
    state, command = u.sim.true_state(), u.command.copy()
    a = np.full(spec.act_dim, 0.3)
    reward = REWARDS[spec.task.name]
    smooth, _ = reward(spec, state, command, a, a, state)
    jerky, _ = reward(spec, state, command, a, -a, state)
    assert smooth - jerky == pytest.approx(0.5 * float(np.sum((2 * a) ** 2)))
    env.close()


def test_cartpole_default_is_unpenalized() -> None:
    spec = load_spec("cartpole")
    env = sim.make_env(spec, "nominal", seed=0)
    s = env.unwrapped.sim.true_state()
    r, _ = REWARDS["balance"](spec, s, None, np.ones(1), -np.ones(1), s)
    assert r == 1.0
    env.close()


def test_quadruped_walk_penalizes_action_rate() -> None:
    spec = load_spec("quadruped")
    env = sim.make_env(spec, "nominal", seed=0)
    u = env.unwrapped
    s, extras = u.sim.true_state(), u.sim.extras()
    a = np.full(spec.act_dim, 0.2)
    reward = REWARDS["walk"]
    smooth, _ = reward(spec, s, u.command.copy(), a, a, s, extras)
    jerky, _ = reward(spec, s, u.command.copy(), a, -a, s, extras)
    assert jerky < smooth
    env.close()
