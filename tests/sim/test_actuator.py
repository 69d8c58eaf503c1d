"""The one actuator function: PD, damping, off, clipping, scales."""

from __future__ import annotations

import numpy as np

from robot_ppo.action import MODE_DAMPING, MODE_OFF, MODE_PD
from sim.actuator import actuator_torque, joint_friction_torque


def test_modes_and_clipping() -> None:
    mode = np.array([MODE_PD, MODE_PD, MODE_DAMPING, MODE_OFF])
    one = np.ones(4)
    tau = actuator_torque(mode, q_cmd=np.array([1.0, 10.0, 5.0, 5.0]), qd_cmd=np.zeros(4),
                          tau_ff=np.array([0.5, 0, 0, 0]), kp=2 * one, kd=0.1 * one,
                          q=np.zeros(4), qd=np.array([1.0, 0, 2.0, 3.0]),
                          effort_limit=np.full(4, 5.0), strength=0.8, kp_scale=1.0,
                          kd_scale=2.0)
    # PD: 2·1 + 0.2·(0 − 1) + 0.5 = 2.3; PD saturates at 5·0.8; damping −0.2·2; off 0
    np.testing.assert_allclose(tau, [2.3, 4.0, -0.4, 0.0])


def test_friction_opposes_motion() -> None:
    qd = np.array([-1.0, 0.0, 1.0])
    f = joint_friction_torque(qd, damping=0.1, coulomb=0.05)
    assert f[0] > 0 and f[1] == 0 and f[2] < 0
    np.testing.assert_allclose(f[2], -0.1 - 0.05, atol=1e-6)
