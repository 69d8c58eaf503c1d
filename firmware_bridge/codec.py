"""Payload encoders/decoders for every message type (see ``layouts`` for the byte layouts).

Fixed-point: wire = round(value * LSB_PER_UNIT), saturated to int32, so an out-of-range value
arrives as the nearest representable one instead of wrapping around. Decoding divides by the
exact integer factor, so a value round-trips to within half an LSB.

``CommandCodec`` and ``StateCodec`` pre-allocate their record arrays once per motor count:
the 1 kHz loop then costs a handful of vectorised numpy operations per message.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from firmware_bridge.layouts import (
    ACCEL_SCALE,
    CAP_IMU,
    COMMAND_JOINT,
    ERROR_HEAD,
    ERROR_TEXT_MAX,
    FIRMWARE_ID_MAX,
    GYRO_SCALE,
    HELLO_REPLY_HEAD,
    IMU_BLOCK,
    INT32_MAX,
    INT32_MIN,
    Q_SCALE,
    QD_SCALE,
    QUAT_SCALE,
    SPEC_HASH_SIZE,
    STATE_HEAD,
    STATE_JOINT,
    TAU_SCALE,
    TIME_SCALE,
    Mode,
    Status,
    command_payload_size,
    state_payload_size,
)
from firmware_bridge.messages import (
    CommandArrays,
    DeviceInfo,
    DeviceState,
    ErrorInfo,
    ImuState,
    JointCommand,
)

__all__ = [
    "CommandCodec",
    "PayloadError",
    "StateCodec",
    "decode_error",
    "decode_hello_reply",
    "encode_error",
    "encode_hello_reply",
    "quantize",
]


class PayloadError(ValueError):
    """A payload has the wrong size or holds invalid values."""


def _lsb(scale: float) -> int:
    return round(1.0 / scale)


Q_LSB, QD_LSB, TAU_LSB = _lsb(Q_SCALE), _lsb(QD_SCALE), _lsb(TAU_SCALE)
QUAT_LSB, GYRO_LSB, ACCEL_LSB = _lsb(QUAT_SCALE), _lsb(GYRO_SCALE), _lsb(ACCEL_SCALE)
TIME_LSB = _lsb(TIME_SCALE)


def quantize(x: NDArray[np.float64] | float, lsb_per_unit: int) -> NDArray[np.float64]:
    """round(x * lsb_per_unit) saturated to the int32 range; NaN becomes INT32_MIN.

    (fmax/fmin rather than np.clip: same result, a fraction of the call overhead, and a NaN
    cannot reach the integer cast.)
    """
    v = np.rint(np.multiply(x, lsb_per_unit, dtype=np.float64))
    return np.fmin(np.fmax(v, INT32_MIN), INT32_MAX)


class CommandCodec:
    """COMMAND payload <-> ``JointCommand`` for a fixed motor count."""

    def __init__(self, motor_count: int) -> None:
        self.motor_count = motor_count
        self.size = command_payload_size(motor_count)
        self._rec = np.zeros(motor_count, dtype=COMMAND_JOINT)

    def encode(self, cmd: CommandArrays) -> bytes:
        """Payload bytes; raises ``PayloadError`` on wrong shapes or non-finite values."""
        n = self.motor_count
        if cmd.q.shape != (n,) or cmd.mode.shape != (n,):
            raise PayloadError(f"command has {cmd.q.shape[0]} joints, bus has {n}")
        for name in ("q", "qd", "tau", "kp", "kd"):
            arr = getattr(cmd, name)
            if arr.shape != (n,) or not np.isfinite(arr).all():
                raise PayloadError(f"command field {name} must be {n} finite numbers")
        rec = self._rec
        rec["mode"] = cmd.mode
        rec["q"] = quantize(cmd.q, Q_LSB)
        rec["qd"] = quantize(cmd.qd, QD_LSB)
        rec["tau"] = quantize(cmd.tau, TAU_LSB)
        rec["kp"] = cmd.kp
        rec["kd"] = cmd.kd
        return rec.tobytes()

    def decode(self, payload: bytes) -> JointCommand:
        """``JointCommand`` from payload bytes; raises ``PayloadError`` on a wrong size."""
        if len(payload) != self.size:
            raise PayloadError(f"COMMAND payload is {len(payload)} bytes, expected {self.size}")
        rec = np.frombuffer(payload, dtype=COMMAND_JOINT, count=self.motor_count)
        return JointCommand(
            mode=rec["mode"].astype(np.uint8),
            q=rec["q"] / Q_LSB,
            qd=rec["qd"] / QD_LSB,
            tau=rec["tau"] / TAU_LSB,
            kp=rec["kp"].astype(np.float64),
            kd=rec["kd"].astype(np.float64),
        )


def valid_modes(cmd: JointCommand) -> bool:
    """True if every mode byte is a known ``Mode``."""
    return bool((cmd.mode <= max(Mode)).all())


class StateCodec:
    """STATE payload <-> ``DeviceState`` for a fixed motor count."""

    def __init__(self, motor_count: int) -> None:
        self.motor_count = motor_count
        self._joints = np.zeros(motor_count, dtype=STATE_JOINT)
        self._imu = np.zeros((), dtype=IMU_BLOCK)
        self._size_no_imu = state_payload_size(motor_count, imu=False)
        self._size_imu = state_payload_size(motor_count, imu=True)

    def encode(
        self,
        t: float,
        q: NDArray[np.float64],
        qd: NDArray[np.float64],
        tau: NDArray[np.float64],
        flags: int,
        fault_code: int = 0,
        imu: ImuState | None = None,
    ) -> bytes:
        """Payload bytes; the IMU flag is set from whether ``imu`` is given."""
        j = self._joints
        j["q"] = quantize(q, Q_LSB)
        j["qd"] = quantize(qd, QD_LSB)
        j["tau"] = quantize(tau, TAU_LSB)
        flags = (int(flags) | Status.IMU) if imu is not None else (int(flags) & ~Status.IMU)
        head = STATE_HEAD.pack(max(0, round(t * TIME_LSB)), flags & 0xFFFF, fault_code & 0xFFFF)
        if imu is None:
            return head + j.tobytes()
        b = self._imu
        b["quat"] = quantize(imu.quat, QUAT_LSB)
        b["gyro"] = quantize(imu.gyro, GYRO_LSB)
        b["accel"] = quantize(imu.accel, ACCEL_LSB)
        return head + j.tobytes() + b.tobytes()

    def decode(self, payload: bytes) -> DeviceState:
        """``DeviceState`` from payload bytes; raises ``PayloadError`` on a wrong size."""
        if len(payload) < STATE_HEAD.size:
            raise PayloadError(f"STATE payload of {len(payload)} bytes is too short")
        t_us, flags, fault = STATE_HEAD.unpack_from(payload)
        want = self._size_imu if flags & Status.IMU else self._size_no_imu
        if len(payload) != want:
            raise PayloadError(
                f"STATE payload is {len(payload)} bytes, expected {want} for "
                f"{self.motor_count} joints{' with IMU' if flags & Status.IMU else ''}"
            )
        j = np.frombuffer(payload, STATE_JOINT, self.motor_count, STATE_HEAD.size)
        imu = None
        if flags & Status.IMU:
            b = np.frombuffer(payload, IMU_BLOCK, 1, self._size_no_imu)[0]
            imu = ImuState(
                quat=b["quat"] / QUAT_LSB, gyro=b["gyro"] / GYRO_LSB, accel=b["accel"] / ACCEL_LSB
            )
        return DeviceState(
            t=t_us / TIME_LSB,
            q=j["q"] / Q_LSB,
            qd=j["qd"] / QD_LSB,
            tau=j["tau"] / TAU_LSB,
            flags=Status(flags),
            fault_code=fault,
            imu=imu,
        )


def encode_hello_reply(info: DeviceInfo) -> bytes:
    """HELLO_REPLY payload."""
    fw = info.firmware_id.encode("ascii", "replace")[:FIRMWARE_ID_MAX]
    spec = bytes(info.spec_hash)[:SPEC_HASH_SIZE].ljust(SPEC_HASH_SIZE, b"\x00")
    head = HELLO_REPLY_HEAD.pack(
        info.motor_count,
        CAP_IMU if info.has_imu else 0,
        min(0xFFFF, round(info.watchdog_s * 1000)),
        min(0xFFFFFFFF, round(info.control_period_s * 1e6)),
        spec,
        len(fw),
    )
    return head + fw


def decode_hello_reply(payload: bytes, protocol_version: int) -> DeviceInfo:
    """``DeviceInfo`` from a HELLO_REPLY payload (the version comes from the frame header)."""
    if len(payload) < HELLO_REPLY_HEAD.size:
        raise PayloadError(f"HELLO_REPLY payload of {len(payload)} bytes is too short")
    n, caps, wd_ms, period_us, spec, fw_len = HELLO_REPLY_HEAD.unpack_from(payload)
    fw = payload[HELLO_REPLY_HEAD.size :]
    if len(fw) != fw_len:
        raise PayloadError(f"HELLO_REPLY firmware id is {len(fw)} bytes, header says {fw_len}")
    return DeviceInfo(
        protocol_version=protocol_version,
        motor_count=n,
        has_imu=bool(caps & CAP_IMU),
        watchdog_s=wd_ms / 1000.0,
        control_period_s=period_us / 1e6,
        spec_hash=spec,
        firmware_id=fw.decode("ascii", "replace"),
    )


def encode_error(code: int, detail: int, text: str) -> bytes:
    """ERROR payload; text is cut to ``ERROR_TEXT_MAX`` bytes of UTF-8."""
    raw = text.encode("utf-8")[:ERROR_TEXT_MAX]
    return ERROR_HEAD.pack(code & 0xFFFF, max(INT32_MIN, min(INT32_MAX, detail)), len(raw)) + raw


def decode_error(payload: bytes) -> ErrorInfo:
    """``ErrorInfo`` from an ERROR payload."""
    if len(payload) < ERROR_HEAD.size:
        raise PayloadError(f"ERROR payload of {len(payload)} bytes is too short")
    code, detail, n = ERROR_HEAD.unpack_from(payload)
    text = payload[ERROR_HEAD.size : ERROR_HEAD.size + n].decode("utf-8", "replace")
    return ErrorInfo(code=code, detail=detail, text=text)
