"""The task's termination rule in the light core: the simulator's tasks end episodes with
exactly it, and it explains itself for the runtime's stop report and start envelope."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_ppo.spec import SpecError, load_spec, spec_from_dict
from robot_ppo.state import RobotState
from robot_ppo.termination import Termination


def _state(q: list[float], quat: list[float] | None = None) -> RobotState:
    s = RobotState.zeros(len(q), quat is not None)
    s.q = np.array(q, dtype=float)
    if quat is not None:
        s.base_quat = np.array(quat, dtype=float)
        s.base_ang_vel = np.zeros(3)
    return s


def _roll(angle: float) -> list[float]:
    return [math.sin(angle / 2), 0.0, 0.0, math.cos(angle / 2)]


def test_balance_bounds_from_the_task_params() -> None:
    t = Termination(load_spec("cartpole"))
    assert t.active
    assert not t.terminated(_state([2.39, 0.19]))
    assert t.terminated(_state([0.0, 0.21])) and t.terminated(_state([-2.41, 0.0]))
    assert t.reason(_state([0.0, 2.1])) == "pole angle +2.100 rad beyond ±0.2 rad"
    assert t.reason(_state([-2.5, 0.0])) == "cart position -2.500 m beyond ±2.4 m"
    assert t.outside_start(_state([0.0, 2.1])) == \
        "pole angle +2.100 rad outside the task's start envelope ±0.2 rad"
    assert t.outside_start(_state([1.0, -0.1])) == ""


def test_walk_uses_the_tilt_rule_and_reach_never_ends() -> None:
    t = Termination(load_spec("quadruped"))  # max_roll 0.6
    n = load_spec("quadruped").n_joints
    assert not t.terminated(_state([0.0] * n, _roll(0.5)))
    assert t.terminated(_state([0.0] * n, _roll(0.7)))
    assert t.reason(_state([0.0] * n, _roll(0.7))).startswith("roll +0.70 rad beyond ±0.6")
    assert "outside the task's start envelope" in t.outside_start(_state([0.0] * n, _roll(-1)))
    arm = Termination(load_spec("arm"))
    assert not arm.active and not arm.terminated(_state([9.0] * load_spec("arm").n_joints))


def test_balance_spec_without_a_pole_is_a_spec_error() -> None:
    d = load_spec("cartpole").to_dict()
    d["joints"][1]["actuated"] = True
    d["action"]["scale"] = [10.0, 1.0] if isinstance(d["action"]["scale"], list) else 10.0
    with pytest.raises(SpecError, match="sensed-only pole joint"):
        Termination(spec_from_dict(d))


@pytest.mark.parametrize("robot", ["cartpole", "quadruped"])
def test_sim_tasks_terminate_exactly_by_this_rule(robot: str) -> None:
    """The simulator's reward functions report `terminated` from the same rule (the walk
    task's base height aside, which needs `extras`)."""
    from sim.tasks import REWARDS
    spec = load_spec(robot)
    rule = Termination(spec)
    reward = REWARDS[spec.task.name]
    rng = np.random.default_rng(0)
    n = spec.n_joints
    seen = set()
    for _ in range(400):
        quat = None
        if spec.imu:
            v = rng.normal(size=4)
            quat = list(v / np.linalg.norm(v))
        s = _state(list(rng.uniform(-3.0, 3.0, n) * rng.uniform(0, 0.3)), quat)
        a = np.zeros(spec.act_dim)
        _, term = reward(spec, s, np.zeros(len(spec.task.command)), a, a, s)
        assert term == rule.terminated(s)
        assert bool(rule.reason(s)) == term
        seen.add(term)
    assert seen == {True, False}
