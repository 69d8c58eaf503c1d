"""Fall detection, one rule for simulation and robot: the walk task ends an episode with it
and the runtime stops into damping with it (both through robot_ppo/termination.py, which
holds every task's termination rule).

A floating-base robot with an IMU has fallen when |roll| > max_roll or |pitch| > max_pitch
(rad; `task.params.max_roll` / `max_pitch`, default 0.8 ≈ 46°), roll and pitch being the
Z-Y-X Euler angles of the base quaternion (x, y, z, w):

    roll  = atan2(2(wx + yz), 1 − 2(x² + y²))
    pitch = asin(2(wy − zx))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robot_ppo.spec import RobotSpec

DEFAULT_MAX_TILT = 0.8
"""rad; legged_gym-style termination for a quadruped (well past any walking posture)."""


def roll_pitch(quat_xyzw: np.ndarray) -> tuple[float, float]:
    x, y, z, w = (float(v) for v in quat_xyzw)
    roll = math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x))))
    return roll, pitch


@dataclass(frozen=True)
class TiltLimits:
    max_roll: float
    max_pitch: float

    @classmethod
    def of(cls, spec: RobotSpec) -> TiltLimits | None:
        """The spec's limits; None for a robot that cannot fall (fixed base or no IMU)."""
        if spec.base != "floating" or not spec.imu:
            return None
        p = spec.task.params
        return cls(float(p.get("max_roll", DEFAULT_MAX_TILT)),
                   float(p.get("max_pitch", DEFAULT_MAX_TILT)))

    def exceeded(self, quat_xyzw: np.ndarray) -> str:
        """'' while upright, else what was exceeded (for the stop reason)."""
        roll, pitch = roll_pitch(quat_xyzw)
        if abs(roll) > self.max_roll:
            return f"roll {roll:+.2f} rad beyond ±{self.max_roll:g}"
        if abs(pitch) > self.max_pitch:
            return f"pitch {pitch:+.2f} rad beyond ±{self.max_pitch:g}"
        return ""
