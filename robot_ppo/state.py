"""`RobotState`: what simulation and hardware both report, one record per control step.

Units: positions rad (m for prismatic joints), velocities rad/s (m/s), efforts N·m (N).
Arrays are per joint, in the spec's bus order. The IMU fields are present only when
the spec says `imu: true`; the base orientation is a quaternion (x, y, z, w), the
angular velocity is in the base frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RobotState:
    t: float
    """Timestamp in seconds (device clock on the robot, sim time in simulation)."""
    q: np.ndarray
    qd: np.ndarray
    tau: np.ndarray
    base_quat: np.ndarray | None = None
    """Base orientation quaternion (x, y, z, w) in the world frame."""
    base_ang_vel: np.ndarray | None = None
    """Base angular velocity (gyro) in the base frame, rad/s."""

    @classmethod
    def zeros(cls, n_joints: int, imu: bool = False) -> RobotState:
        return cls(0.0, np.zeros(n_joints), np.zeros(n_joints), np.zeros(n_joints),
                   np.array([0.0, 0.0, 0.0, 1.0]) if imu else None,
                   np.zeros(3) if imu else None)


def projected_gravity(quat_xyzw: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Unit gravity direction (0, 0, -1) expressed in the base frame.

    g_base = R(q)^T · (0, 0, -1), i.e. minus the third row of R(q)... written out for
    the unit quaternion (x, y, z, w): R^T e_z = (2(xz - wy), 2(yz + wx), 1 - 2(x² + y²)).
    """
    x, y, z, w = (float(v) for v in quat_xyzw)
    if out is None:
        out = np.empty(3)
    out[0] = -2.0 * (x * z - w * y)
    out[1] = -2.0 * (y * z + w * x)
    out[2] = -(1.0 - 2.0 * (x * x + y * y))
    return out
