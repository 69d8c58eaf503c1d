"""Start-up ramp (Unitree-style): from the measured pose to the default pose under PD.

    q*(k) = q0 + α(k)·(q_default − q0),   α(k) = min(1, k / N),   N = ramp_s · rate

with the spec's kp/kd on actuated joints (sensed-only joints stay OFF). Every ramp command
still passes the safety layer, whose rate limit may slow the ramp further. Torque-mode
robots without PD gains have no pose to servo to: they get no ramp.
"""

from __future__ import annotations

import numpy as np

from robot_ppo.action import MODE_OFF, MODE_PD, JointCommand
from robot_ppo.spec import RobotSpec


def has_ramp(spec: RobotSpec) -> bool:
    return all(j.kp > 0 for j in spec.actuated)


class Ramp:
    def __init__(self, spec: RobotSpec, q0: np.ndarray, cycles: int) -> None:
        act = np.array([j.actuated for j in spec.joints])
        self.q0 = np.where(act, q0, 0.0)
        self.delta = np.where(act, np.array([j.default_position for j in spec.joints]) - q0,
                              0.0)
        self.cycles = max(1, int(cycles))
        self.cmd = JointCommand.zeros(spec.n_joints)
        self.cmd.mode[:] = np.where(act, MODE_PD, MODE_OFF)
        self.cmd.kp[:] = [j.kp if j.actuated else 0.0 for j in spec.joints]
        self.cmd.kd[:] = [j.kd if j.actuated else 0.0 for j in spec.joints]

    def command(self, k: int) -> JointCommand:
        alpha = min(1.0, k / self.cycles)
        np.multiply(self.delta, alpha, out=self.cmd.q)
        self.cmd.q += self.q0
        return self.cmd
