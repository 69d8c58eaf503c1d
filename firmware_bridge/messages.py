"""Plain data records exchanged through the bus. Units are SI; arrays have one entry per joint.

A command reaches the bus as `CommandArrays`: any record with the six per-joint arrays. The
runtime sends the light contract's `robot_ppo.action.JointCommand` as it is (firmware_bridge
imports nothing of the project, so it names only the arrays it reads); `JointCommand` below
is the same record on this side of the wire: what the device decodes from a COMMAND and
holds, and what a caller without the contract (tests, benches) builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from firmware_bridge.layouts import Mode, Status

FloatArray = NDArray[np.float64]
ModeArray = NDArray[np.uint8]

NO_FLAGS = Status(0)

__all__ = [
    "CommandArrays",
    "DeviceInfo",
    "DeviceState",
    "ErrorInfo",
    "ImuState",
    "JointCommand",
    "PlantReading",
]


class CommandArrays(Protocol):
    """What a bus reads from a command: per-joint arrays of shape (motor_count,), with the
    meaning of `JointCommand`'s fields; mode holds `layouts.Mode` values."""

    @property
    def mode(self) -> NDArray[Any]: ...
    @property
    def q(self) -> NDArray[Any]: ...
    @property
    def qd(self) -> NDArray[Any]: ...
    @property
    def tau(self) -> NDArray[Any]: ...
    @property
    def kp(self) -> NDArray[Any]: ...
    @property
    def kd(self) -> NDArray[Any]: ...


@dataclass
class JointCommand:
    """Per-joint command, shape (motor_count,) each (a `CommandArrays`).

    The motor driver computes ``tau = kp (q - q_meas) + kd (qd - qd_meas) + tau`` for mode PD,
    ``tau = -kd qd_meas`` for DAMPING and 0 for OFF, then clamps to the effort limit.
    """

    mode: ModeArray  # uint8, values of layouts.Mode
    q: FloatArray  # target position, rad
    qd: FloatArray  # target velocity, rad/s
    tau: FloatArray  # feed-forward effort, N m
    kp: FloatArray  # position gain, N m / rad (>= 0)
    kd: FloatArray  # velocity gain, N m s / rad (>= 0)

    @classmethod
    def zeros(cls, motor_count: int, mode: Mode = Mode.OFF) -> JointCommand:
        """All-zero command (torque off by default)."""
        z = np.zeros(motor_count)
        return cls(
            mode=np.full(motor_count, int(mode), dtype=np.uint8),
            q=z.copy(),
            qd=z.copy(),
            tau=z.copy(),
            kp=z.copy(),
            kd=z.copy(),
        )

    @classmethod
    def pd(
        cls,
        q: ArrayLike,
        kp: ArrayLike,
        kd: ArrayLike,
        qd: ArrayLike | None = None,
        tau: ArrayLike | None = None,
    ) -> JointCommand:
        """Position-mode command; scalars broadcast to the length of ``q``."""
        qa = np.asarray(q, dtype=np.float64).reshape(-1)
        n = qa.shape[0]

        def full(x: ArrayLike | None) -> FloatArray:
            if x is None:
                return np.zeros(n)
            return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()

        return cls(
            mode=np.full(n, int(Mode.PD), dtype=np.uint8),
            q=qa.copy(),
            qd=full(qd),
            tau=full(tau),
            kp=full(kp),
            kd=full(kd),
        )

    @property
    def motor_count(self) -> int:
        return int(self.q.shape[0])

    def copy(self) -> JointCommand:
        return JointCommand(
            self.mode.copy(), self.q.copy(), self.qd.copy(), self.tau.copy(),
            self.kp.copy(), self.kd.copy(),
        )  # fmt: skip


@dataclass
class ImuState:
    """Base IMU reading in the body frame."""

    quat: FloatArray  # orientation quaternion (x, y, z, w), world <- body
    gyro: FloatArray  # angular velocity, rad/s, shape (3,)
    accel: FloatArray  # specific force, m/s^2, shape (3,)


@dataclass
class PlantReading:
    """What a ``Plant`` reports after a step: the measured joint state."""

    t: float  # plant time, s
    q: FloatArray  # rad
    qd: FloatArray  # rad/s
    tau: FloatArray  # measured / applied effort, N m
    imu: ImuState | None = None


@dataclass
class DeviceState:
    """A decoded STATE frame (values already quantised by the wire scales)."""

    t: float  # device timestamp, s
    q: FloatArray  # rad
    qd: FloatArray  # rad/s
    tau: FloatArray  # N m
    flags: Status = NO_FLAGS
    fault_code: int = 0
    imu: ImuState | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.flags & Status.ENABLED)

    @property
    def watchdog_tripped(self) -> bool:
        return bool(self.flags & Status.WATCHDOG)

    @property
    def estopped(self) -> bool:
        return bool(self.flags & Status.ESTOP)

    @property
    def faulted(self) -> bool:
        return bool(self.flags & Status.FAULT)


@dataclass(frozen=True)
class DeviceInfo:
    """A decoded HELLO_REPLY: what the device says about itself."""

    protocol_version: int
    motor_count: int
    has_imu: bool
    watchdog_s: float  # 0 = watchdog off
    control_period_s: float
    spec_hash: bytes  # 8 bytes
    firmware_id: str


@dataclass(frozen=True)
class ErrorInfo:
    """A decoded ERROR frame."""

    code: int  # layouts.ErrorCode (unknown codes kept as int)
    detail: int
    text: str = field(default="")
