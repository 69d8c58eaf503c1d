"""Device-side reference logic: what motor-controller firmware must do with each frame.

This is the executable form of the state machine in docs/protocol.md. It is transport-free:
a server hands it validated frames and a monotonic time, it returns the reply bytes, and it
tells the server which command the plant must hold.

State machine (flags in every STATE):
    BOOT --HELLO--> DISABLED --ENABLE--> ENABLED
    ENABLED --DISABLE--> DISABLED
    ENABLED --no COMMAND/HEARTBEAT for watchdog_s--> DISABLED + WATCHDOG (latched)
    any --ESTOP--> DISABLED + ESTOP (latched)
    any --HELLO--> DISABLED (a new host session always starts without torque)
    DISABLED(+latches) --ENABLE--> ENABLED, latches cleared
Whenever not ENABLED the plant holds the safe command (damping or torque off).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from firmware_bridge.codec import (
    CommandCodec,
    PayloadError,
    StateCodec,
    encode_error,
    encode_hello_reply,
    valid_modes,
)
from firmware_bridge.framing import Frame, encode_frame
from firmware_bridge.layouts import (
    PROTOCOL_VERSION,
    SPEC_HASH_SIZE,
    ErrorCode,
    Mode,
    MsgType,
    Status,
)
from firmware_bridge.messages import NO_FLAGS, DeviceInfo, FloatArray, JointCommand
from firmware_bridge.plant import Plant

__all__ = ["Device", "DeviceConfig"]

_INF = float("inf")


def _arr(x: float | FloatArray, n: int) -> FloatArray:
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()


@dataclass
class DeviceConfig:
    """Firmware configuration: limits and safety behaviour, all plain numbers.

    Arrays are per joint; a scalar applies to every joint.
    """

    motor_count: int
    q_min: float | FloatArray = -_INF  # rad: position targets are clamped to [q_min, q_max]
    q_max: float | FloatArray = _INF
    qd_max: float | FloatArray = _INF  # rad/s: velocity targets clamped to +-qd_max
    tau_max: float | FloatArray = _INF  # N m: feed-forward effort clamped to +-tau_max
    kp_max: float | FloatArray = _INF  # N m/rad: kp clamped to [0, kp_max]
    kd_max: float | FloatArray = _INF  # N m s/rad: kd clamped to [0, kd_max]
    watchdog_s: float = 0.1  # max gap between COMMAND/HEARTBEAT while enabled; 0 = off
    safe_mode: Mode = Mode.DAMPING  # DAMPING (tau = -kd_safe qd) or OFF (tau = 0)
    kd_safe: float | FloatArray = 1.0  # N m s/rad used by the safe damping command
    spec_hash: bytes = bytes(SPEC_HASH_SIZE)  # reported in HELLO_REPLY
    firmware_id: str = "virtual-controller"
    protocol_version: int = PROTOCOL_VERSION  # settable only to test mismatches
    limits: dict[str, FloatArray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = self.motor_count
        if self.safe_mode not in (Mode.DAMPING, Mode.OFF):
            raise ValueError("safe_mode must be Mode.DAMPING or Mode.OFF")
        self.limits = {
            name: _arr(getattr(self, name), n)
            for name in ("q_min", "q_max", "qd_max", "tau_max", "kp_max", "kd_max", "kd_safe")
        }


class Device:
    """Protocol state machine, limits and watchdog around a ``Plant``."""

    def __init__(self, config: DeviceConfig, plant: Plant) -> None:
        if plant.motor_count != config.motor_count:
            raise ValueError(f"plant has {plant.motor_count} joints, config {config.motor_count}")
        self.config = config
        self.plant = plant
        n = config.motor_count
        self.has_imu = plant.read().imu is not None
        self._cmd_codec = CommandCodec(n)
        self._state_codec = StateCodec(n)
        self.safe_command = self._make_safe_command()
        self.active: JointCommand = self.safe_command  # what the plant holds now
        self.handshake = False
        self.enabled = False
        self.watchdog_tripped = False
        self.estopped = False
        self.faulted = False
        self.fault_code = 0
        self.last_feed = 0.0  # monotonic time of the last COMMAND/HEARTBEAT while enabled
        self.trip_time: float | None = None  # when the watchdog last tripped
        self.commands_applied = 0
        self.commands_rejected = 0

    # --- the pieces a server calls -------------------------------------------------------

    def handle(self, frame: Frame, now: float, step_on_command: bool = False) -> bytes:
        """Process one request frame and return the reply's wire bytes.

        ``step_on_command`` (lockstep) advances the plant exactly one period per COMMAND
        before the reply, so the reply shows the state after that command.
        """
        self.poll(now)
        seq = frame.seq
        if frame.version != self.config.protocol_version:
            return self._error(
                seq,
                ErrorCode.VERSION_MISMATCH,
                (self.config.protocol_version << 8) | frame.version,
                f"protocol version mismatch: host speaks v{frame.version}, "
                f"device speaks v{self.config.protocol_version}",
            )
        t = frame.msg_type
        if t == MsgType.COMMAND:
            return self._on_command(frame, now, step_on_command)
        if t == MsgType.HEARTBEAT:
            if not self.handshake:
                return self._no_handshake(frame)
            if self.enabled:
                self.last_feed = now
            return self._state(seq)
        if t == MsgType.GET_STATE:
            return self._state(seq)
        if t == MsgType.HELLO:
            self.handshake = True
            self._disable()
            return self._hello_reply(seq)
        if t == MsgType.ENABLE:
            if not self.handshake:
                return self._no_handshake(frame)
            self.enabled = True
            self.watchdog_tripped = self.estopped = self.faulted = False
            self.fault_code = 0
            self.last_feed = now
            self.active = self.safe_command  # hold safe until the first COMMAND
            return self._state(seq)
        if t == MsgType.DISABLE:
            self._disable()
            return self._state(seq)
        if t == MsgType.ESTOP:
            self._disable()
            self.estopped = True
            return self._state(seq)
        return self._error(seq, ErrorCode.UNKNOWN_TYPE, t, f"unknown request type 0x{t:02x}")

    def poll(self, now: float) -> bool:
        """Run the watchdog at time ``now``; True if it tripped on this call."""
        wd = self.config.watchdog_s
        if self.enabled and wd > 0 and now - self.last_feed > wd:
            self._disable()
            self.watchdog_tripped = True
            self.trip_time = now
            return True
        return False

    def step_plant(self) -> None:
        """Advance the plant one control period with the active (limited or safe) command."""
        self.plant.step(self.active)

    def limit(self, cmd: JointCommand) -> tuple[JointCommand, bool]:
        """Clamp targets and gains to the configured limits; True if anything changed."""
        lim = self.config.limits
        lo, hi = np.maximum, np.minimum  # ufuncs: cheaper than np.clip per call
        out = JointCommand(
            mode=cmd.mode.copy(),
            q=hi(lo(cmd.q, lim["q_min"]), lim["q_max"]),
            qd=hi(lo(cmd.qd, -lim["qd_max"]), lim["qd_max"]),
            tau=hi(lo(cmd.tau, -lim["tau_max"]), lim["tau_max"]),
            kp=hi(lo(cmd.kp, 0.0), lim["kp_max"]),
            kd=hi(lo(cmd.kd, 0.0), lim["kd_max"]),
        )
        changed = any(
            (a != b).any()
            for a, b in ((out.q, cmd.q), (out.qd, cmd.qd), (out.tau, cmd.tau),
                         (out.kp, cmd.kp), (out.kd, cmd.kd))
        )  # fmt: skip
        return out, changed

    def flags(self) -> Status:
        """Latched status flags (without the per-reply REJECTED/CLAMPED bits)."""
        f = Status(0)
        if self.enabled:
            f |= Status.ENABLED
        if self.watchdog_tripped:
            f |= Status.WATCHDOG
        if self.faulted:
            f |= Status.FAULT
        if self.estopped:
            f |= Status.ESTOP
        if self.handshake:
            f |= Status.HANDSHAKE
        return f

    def info(self) -> DeviceInfo:
        """What HELLO_REPLY announces."""
        c = self.config
        return DeviceInfo(
            protocol_version=c.protocol_version,
            motor_count=c.motor_count,
            has_imu=self.has_imu,
            watchdog_s=c.watchdog_s,
            control_period_s=self.plant.control_period_s,
            spec_hash=c.spec_hash,
            firmware_id=c.firmware_id,
        )

    # --- internals -----------------------------------------------------------------------

    def _make_safe_command(self) -> JointCommand:
        n = self.config.motor_count
        cmd = JointCommand.zeros(n, self.config.safe_mode)
        if self.config.safe_mode == Mode.DAMPING:
            cmd.kd = self.config.limits["kd_safe"].copy()
        return cmd

    def _disable(self) -> None:
        self.enabled = False
        self.active = self.safe_command

    def _on_command(self, frame: Frame, now: float, step: bool) -> bytes:
        seq = frame.seq
        if not self.handshake:
            return self._no_handshake(frame)
        try:
            cmd = self._cmd_codec.decode(frame.payload)
        except PayloadError as exc:
            return self._error(seq, ErrorCode.BAD_LENGTH, len(frame.payload), str(exc))
        if not valid_modes(cmd):
            j = int(np.argmax(cmd.mode > max(Mode)))
            return self._error(seq, ErrorCode.BAD_VALUE, j, f"joint {j}: bad mode {cmd.mode[j]}")
        bad = ~(np.isfinite(cmd.kp) & np.isfinite(cmd.kd))
        if bad.any():
            j = int(np.argmax(bad))
            return self._error(seq, ErrorCode.BAD_VALUE, j, f"joint {j}: non-finite gain")
        extra = Status(0)
        if self.enabled:
            self.active, clamped = self.limit(cmd)
            self.last_feed = now
            self.commands_applied += 1
            if clamped:
                extra |= Status.CLAMPED
        else:
            extra |= Status.REJECTED
            self.commands_rejected += 1
        if step:
            self.step_plant()
        return self._state(seq, extra)

    def _state(self, seq: int, extra: Status = NO_FLAGS) -> bytes:
        r = self.plant.read()
        payload = self._state_codec.encode(
            r.t, r.q, r.qd, r.tau, self.flags() | extra, self.fault_code, r.imu
        )
        return encode_frame(self.config.protocol_version, MsgType.STATE, seq, payload)

    def _hello_reply(self, seq: int) -> bytes:
        payload = encode_hello_reply(self.info())
        return encode_frame(self.config.protocol_version, MsgType.HELLO_REPLY, seq, payload)

    def _no_handshake(self, frame: Frame) -> bytes:
        return self._error(
            frame.seq,
            ErrorCode.NO_HANDSHAKE,
            frame.msg_type,
            f"message 0x{frame.msg_type:02x} before HELLO: connect first",
        )

    def _error(self, seq: int, code: ErrorCode, detail: int, text: str) -> bytes:
        payload = encode_error(code, detail, text)
        return encode_frame(self.config.protocol_version, MsgType.ERROR, seq, payload)
