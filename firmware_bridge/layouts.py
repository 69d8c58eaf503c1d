"""Wire layouts as plain data: versions, message types, byte layouts, fixed-point scales.

Everything on the wire is little-endian. docs/protocol.md is the prose form of this file;
change both together and bump ``PROTOCOL_VERSION`` on any incompatible change.
"""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag

import numpy as np

PROTOCOL_VERSION = 1

# Frame: header | payload | crc32, then COBS-encoded and terminated by 0x00.
# The header layout is frozen across protocol versions so that a receiver can always read
# the sender's version and answer a mismatch with an ERROR frame it understands.
HEADER = struct.Struct("<BBHH")  # version u8, msg_type u8, seq u16, payload_len u16
CRC = struct.Struct("<I")
HEADER_SIZE = HEADER.size  # 6
CRC_SIZE = CRC.size  # 4
FRAME_OVERHEAD = HEADER_SIZE + CRC_SIZE  # 10 raw bytes around each payload
MAX_MOTORS = 64
MAX_PAYLOAD = 2048
FIRMWARE_ID_MAX = 64
ERROR_TEXT_MAX = 200
SPEC_HASH_SIZE = 8


class MsgType(IntEnum):
    """Message type byte. Requests go host -> device, replies device -> host."""

    HELLO = 0x01  # request: empty payload; answered by HELLO_REPLY or ERROR
    HELLO_REPLY = 0x02
    ERROR = 0x03
    COMMAND = 0x10  # request: per-joint targets; answered by STATE
    STATE = 0x11
    ENABLE = 0x20  # requests below: empty payload; each answered by STATE (or ERROR)
    DISABLE = 0x21
    ESTOP = 0x22
    HEARTBEAT = 0x23
    GET_STATE = 0x24


REQUEST_TYPES = frozenset(
    {
        MsgType.HELLO,
        MsgType.COMMAND,
        MsgType.ENABLE,
        MsgType.DISABLE,
        MsgType.ESTOP,
        MsgType.HEARTBEAT,
        MsgType.GET_STATE,
    }
)
KNOWN_TYPES = frozenset(int(t) for t in MsgType)


class Mode(IntEnum):
    """Per-joint control mode: the COMMAND mode byte (the C core's FW_MODE_*). The light
    contract names the same values MODE_OFF/MODE_PD/MODE_DAMPING (robot_ppo/action.py,
    which cannot import this package); tests/deploy/test_link.py holds the two equal."""

    OFF = 0  # torque-free: tau = 0
    PD = 1  # tau = kp (q* - q) + kd (qd* - qd) + tau_ff
    DAMPING = 2  # tau = -kd qd  (q*, qd*, tau_ff ignored)


class Status(IntFlag):
    """STATE status flags (u16)."""

    ENABLED = 1 << 0  # motors follow COMMANDs
    WATCHDOG = 1 << 1  # watchdog tripped; latched until ENABLE
    FAULT = 1 << 2  # fault latched (fault_code says which); cleared by ENABLE
    ESTOP = 1 << 3  # e-stop latched; cleared by ENABLE
    IMU = 1 << 4  # the STATE carries the IMU block
    REJECTED = 1 << 5  # the COMMAND this STATE answers was not applied (not enabled)
    CLAMPED = 1 << 6  # the COMMAND this STATE answers was limited by the device
    HANDSHAKE = 1 << 7  # a HELLO has been answered since boot


class ErrorCode(IntEnum):
    """ERROR frame codes."""

    VERSION_MISMATCH = 1  # detail = device_version << 8 | host_version
    UNKNOWN_TYPE = 2  # detail = the message type byte
    BAD_LENGTH = 3  # detail = the payload length received
    NO_HANDSHAKE = 4  # ENABLE/COMMAND/HEARTBEAT before HELLO; detail = message type
    BAD_VALUE = 5  # e.g. a mode byte > 2 or a non-finite gain; detail = joint index
    FAULT_LATCHED = 6  # ENABLE refused: hardware fault that only a reboot clears


# Fixed-point scales: wire integer = round(value / scale), saturated to the int32 range.
Q_SCALE = 1e-6  # rad per LSB, int32 -> +-2147.48 rad
QD_SCALE = 1e-5  # rad/s per LSB, int32 -> +-21474.8 rad/s
TAU_SCALE = 1e-5  # N m per LSB, int32 -> +-21474.8 N m
QUAT_SCALE = 1e-9  # per LSB, int32 -> +-2.147 (unit quaternion components)
GYRO_SCALE = 1e-6  # rad/s per LSB, int32 -> +-2147.48 rad/s
ACCEL_SCALE = 1e-5  # m/s^2 per LSB, int32 -> +-21474.8 m/s^2
TIME_SCALE = 1e-6  # s per LSB of the u64 device timestamp

# COMMAND payload: motor_count records of 21 bytes, nothing else.
COMMAND_JOINT = np.dtype(
    [("mode", "u1"), ("q", "<i4"), ("qd", "<i4"), ("tau", "<i4"), ("kp", "<f4"), ("kd", "<f4")]
)
# STATE payload: STATE_HEAD, then motor_count STATE_JOINT records, then IMU if Status.IMU.
STATE_HEAD = struct.Struct("<QHH")  # t_us u64, flags u16, fault_code u16
STATE_JOINT = np.dtype([("q", "<i4"), ("qd", "<i4"), ("tau", "<i4")])
IMU_BLOCK = np.dtype([("quat", "<i4", (4,)), ("gyro", "<i4", (3,)), ("accel", "<i4", (3,))])
# HELLO_REPLY payload: fixed part, then the firmware id (ASCII, fw_id_len bytes).
HELLO_REPLY_HEAD = struct.Struct("<BBHI8sB")
# motor_count u8, capabilities u8 (bit0 = IMU), watchdog_ms u16, control_period_us u32,
# spec_hash 8 bytes, fw_id_len u8
CAP_IMU = 0x01
# ERROR payload: code u16, detail i32, text_len u8, then text (UTF-8).
ERROR_HEAD = struct.Struct("<HiB")

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def command_payload_size(motor_count: int) -> int:
    """Bytes of a COMMAND payload."""
    return motor_count * COMMAND_JOINT.itemsize


def state_payload_size(motor_count: int, imu: bool) -> int:
    """Bytes of a STATE payload."""
    return STATE_HEAD.size + motor_count * STATE_JOINT.itemsize + (IMU_BLOCK.itemsize if imu else 0)
