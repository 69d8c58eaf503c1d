"""Fall detection: roll/pitch from the base quaternion against the spec's limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_ppo.posture import TiltLimits, roll_pitch
from robot_ppo.spec import load_spec


def quat(axis: str, angle: float) -> np.ndarray:
    """(x, y, z, w) of a rotation by `angle` about the x or y axis."""
    s, c = math.sin(angle / 2), math.cos(angle / 2)
    return np.array([s, 0, 0, c] if axis == "x" else [0, s, 0, c])


@pytest.mark.parametrize("angle", [-1.2, -0.3, 0.0, 0.4, 1.1])
def test_roll_pitch_recover_single_axis_rotations(angle: float) -> None:
    assert roll_pitch(quat("x", angle)) == pytest.approx((angle, 0.0), abs=1e-12)
    assert roll_pitch(quat("y", angle)) == pytest.approx((0.0, angle), abs=1e-12)


def test_limits_come_from_the_spec_and_only_floating_bases_fall() -> None:
    spec = load_spec("quadruped")
    limits = TiltLimits.of(spec)
    assert limits is not None
    p = spec.task.params
    assert (limits.max_roll, limits.max_pitch) == (p.get("max_roll", 0.8), p.get("max_pitch", 0.8))
    assert TiltLimits.of(load_spec("cartpole")) is None  # fixed base
    assert TiltLimits.of(load_spec("arm")) is None


def test_exceeded_names_the_axis_only_past_the_limit() -> None:
    lim = TiltLimits(max_roll=0.6, max_pitch=0.8)
    assert lim.exceeded(quat("x", 0.59)) == "" and lim.exceeded(quat("y", -0.79)) == ""
    assert lim.exceeded(quat("x", -0.61)).startswith("roll -0.61")
    assert lim.exceeded(quat("y", 0.81)).startswith("pitch +0.81")
