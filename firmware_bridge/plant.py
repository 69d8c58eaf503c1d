"""The ``Plant`` contract: what the device logic drives (a simulated robot or the real motors)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from firmware_bridge.messages import JointCommand, PlantReading

__all__ = ["Plant"]


@runtime_checkable
class Plant(Protocol):
    """Joints behind a motor controller, advanced one control period at a time.

    ``step`` receives a command the device has already limited (or replaced by the safe
    command); the plant runs the per-joint law of ``JointCommand`` (PD / damping / off) at
    whatever inner rate it likes, clamps the effort to its own limit, and advances time by
    exactly ``control_period_s``. ``read`` returns the current measurement; a plant with an
    IMU returns it in ``PlantReading.imu`` every time, one without returns ``None``
    (the device announces the IMU capability from the first reading).
    """

    motor_count: int
    control_period_s: float

    def step(self, cmd: JointCommand) -> None:
        """Advance one control period holding ``cmd``."""
        ...

    def read(self) -> PlantReading:
        """Measured state now: plant time, q, qd, tau (+ IMU or None)."""
        ...
