"""A software stand-in plant: independent joints, each a damped inertia under the motor law.

Per joint, integrated with semi-implicit Euler at ``substeps`` per control period:
    tau = clip(kp (q* - q) + kd (qd* - qd) + tau_ff, -tau_max, tau_max)   (mode PD)
    tau = clip(-kd qd, ...)                                               (mode DAMPING)
    tau = 0                                                               (mode OFF)
    I qdd = tau - b qd
It is for tests and benchmarks of the serial link only; real dynamics come from sim/.
"""

from __future__ import annotations

import numpy as np

from firmware_bridge.layouts import Mode
from firmware_bridge.messages import FloatArray, ImuState, JointCommand, PlantReading

__all__ = ["IdealPlant"]


class IdealPlant:
    """Numpy plant satisfying ``firmware_bridge.plant.Plant``."""

    def __init__(
        self,
        motor_count: int,
        control_period_s: float = 0.001,
        inertia: float = 0.01,
        damping: float = 0.05,
        tau_max: float = 50.0,
        substeps: int = 4,
        with_imu: bool = False,
    ) -> None:
        self.motor_count = motor_count
        self.control_period_s = control_period_s
        self.inertia = inertia
        self.damping = damping
        self.tau_max = tau_max
        self.substeps = substeps
        self.with_imu = with_imu
        self.t = 0.0
        self.steps = 0
        self.q: FloatArray = np.zeros(motor_count)
        self.qd: FloatArray = np.zeros(motor_count)
        self.tau: FloatArray = np.zeros(motor_count)
        self.last_cmd = JointCommand.zeros(motor_count)

    def step(self, cmd: JointCommand) -> None:
        self.last_cmd = cmd
        h = self.control_period_s / self.substeps
        pd = cmd.mode == Mode.PD
        damp = cmd.mode == Mode.DAMPING
        for _ in range(self.substeps):
            tau_pd = cmd.kp * (cmd.q - self.q) + cmd.kd * (cmd.qd - self.qd) + cmd.tau
            tau = np.where(pd, tau_pd, np.where(damp, -cmd.kd * self.qd, 0.0))
            tau = np.clip(tau, -self.tau_max, self.tau_max)
            self.qd = self.qd + h * (tau - self.damping * self.qd) / self.inertia
            self.q = self.q + h * self.qd
            self.tau = tau
        self.steps += 1
        self.t = self.steps * self.control_period_s

    def read(self) -> PlantReading:
        imu = None
        if self.with_imu:
            imu = ImuState(
                quat=np.array([0.0, 0.0, 0.0, 1.0]),
                gyro=np.zeros(3),
                accel=np.array([0.0, 0.0, 9.81]),
            )
        return PlantReading(self.t, self.q.copy(), self.qd.copy(), self.tau.copy(), imu)
