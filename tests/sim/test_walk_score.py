"""The walk task's episode score (tracking, performance, success) and how ADR uses it:
a quadruped that stands still must not count as performing well (sim/tasks/walk.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from robot_ppo.spec import load_spec, spec_from_dict
from sim.adr_dynamics import SharedAdr
from sim.tasks.walk import WalkTask


def _episode(speeds: list[float], cmd: float = 0.5, steps: int = 100,
             terminate_at: int | None = None) -> dict[str, Any]:
    """Run WalkTask.evaluate over one episode of given forward speeds; the last step's info."""
    d = load_spec("quadruped").to_dict()
    d["task"]["episode_steps"] = steps
    spec = spec_from_dict(d, origin="test")
    task = WalkTask(spec)
    state = sim.make_env("quadruped", "nominal", seed=0).unwrapped.sim.true_state()
    task.reset_command(np.random.default_rng(0))
    task.command = np.array([cmd])
    a = np.zeros(spec.act_dim)
    info: dict[str, Any] = {}
    for t, v in enumerate(speeds):
        height = 0.05 if t == terminate_at else 0.3  # below min_height: the task terminates
        res = task.evaluate(state, a, a, state, {"base_lin_vel": np.array([v, 0.0, 0.0]),
                                                 "base_pos": np.array([0.0, 0.0, height])})
        info = res.info
        if res.terminated:
            break
    return info


def test_tracking_is_the_delivered_fraction_of_the_commanded_speed_after_settling() -> None:
    settle = 48  # 1 s at 48 Hz: what the robot does then does not count
    walk = _episode([0.0] * settle + [0.45] * 52)
    assert walk["tracking"] == pytest.approx(0.9)
    assert walk["performance"] == pytest.approx(0.9)
    assert walk["success"] is True
    stand = _episode([0.0] * 100)
    assert stand["tracking"] == 0.0 and stand["performance"] == 0.0
    assert stand["success"] is False
    slow = _episode([0.0] * settle + [0.3] * 52)  # 60 % of the command: not a success
    assert slow["tracking"] == pytest.approx(0.6) and slow["success"] is False
    fast = _episode([0.0] * settle + [1.5] * 52)  # 3x too fast is as bad as standing
    assert fast["tracking"] == 0.0


def test_a_fall_scales_performance_by_the_fraction_survived_and_is_never_a_success() -> None:
    info = _episode([0.5] * 100, terminate_at=74)
    assert info["tracking"] == pytest.approx(1.0)
    assert info["performance"] == pytest.approx(0.75)
    assert info["success"] is False
    early = _episode([0.5] * 100, terminate_at=10)  # before the settle second: nothing scored
    assert early["performance"] == 0.0


def test_adr_gets_the_walk_performance_not_survival_for_a_standing_robot() -> None:
    # the PD controller holds the default pose (action 0): the robot may survive the whole
    # episode, which the survival signal scored 1.0, but it never walks
    env = sim.make_env("quadruped", "adr", seed=1, adr_share=SharedAdr())
    a = np.zeros(env.action_space.shape, dtype=np.float32)
    info: dict[str, Any] = {}
    done = False
    while not done:
        _, _, term, trunc, info = env.step(a)
        done = term or trunc
    metrics = info["episode_metrics"]
    assert metrics["adr/performance"] == pytest.approx(info["performance"])
    assert metrics["adr/performance"] < 0.2, metrics
    assert info["success"] is False
