"""Task metrics reported by `robot-ppo eval`: final reach distance, walking speed error."""

from __future__ import annotations

import numpy as np
import pytest

from robot_ppo.spec import load_spec
from sim.tasks.metrics import TaskMetrics


def test_speed_error_ignores_the_first_second_and_averages_episodes() -> None:
    spec = load_spec("quadruped")
    m = TaskMetrics(spec)
    settle = m.settle_steps
    vx_i = list(spec.task.command).index("vx")
    cmd = np.zeros(len(spec.task.command))
    cmd[vx_i] = 0.5
    for ep_speed in (0.4, 0.7):
        for t in range(settle + 10):
            # standing still during the first second must not count against the robot
            m.step(t, {"base_lin_vel_x": 0.0 if t < settle else ep_speed}, cmd)
        m.end_episode({})
    out = m.summary()
    assert out["mean_speed_error"] == pytest.approx((0.1 + 0.2) / 2)
    assert out["mean_speed"] == pytest.approx(0.55)


def test_reach_reports_the_final_distance_only() -> None:
    m = TaskMetrics(load_spec("arm"))
    for final in (0.03, 0.07):
        for t in range(5):
            m.step(t, {"distance": 1.0}, np.zeros(3))
        m.end_episode({"distance": final})
    assert m.summary() == {"mean_final_distance": pytest.approx(0.05)}


def test_walk_performance_is_the_mean_of_the_episodes_final_scores() -> None:
    m = TaskMetrics(load_spec("quadruped"))
    for final in (0.9, 0.0):
        m.step(0, {"performance": 0.5}, np.zeros(1))  # only the last step's score counts
        m.end_episode({"performance": final})
    assert m.summary()["mean_performance"] == pytest.approx(0.45)
