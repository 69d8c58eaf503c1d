"""Host side of the link: ``MotorBus`` talks to one motor controller over any pyserial URL.

Every request is answered by exactly one reply carrying the request's sequence number, so one
method call is one round trip. Replies with another sequence number (late answers to a request
that already timed out) are discarded and counted as stale.
"""

from __future__ import annotations

import random
import time
from collections import deque

import numpy as np
import serial

from firmware_bridge.codec import CommandCodec, PayloadError, StateCodec, decode_error
from firmware_bridge.codec import decode_hello_reply as _decode_hello
from firmware_bridge.errors import (
    BusError,
    BusTimeout,
    DeviceError,
    DeviceFault,
    LinkLost,
    ProtocolMismatch,
)
from firmware_bridge.framing import Frame, FrameDecoder, encode_frame
from firmware_bridge.layouts import PROTOCOL_VERSION, SPEC_HASH_SIZE, ErrorCode, MsgType, Status
from firmware_bridge.messages import CommandArrays, DeviceInfo, DeviceState
from firmware_bridge.ports import PortOwner, open_port

__all__ = ["MotorBus"]


def _norm_hash(h: bytes) -> bytes:
    return bytes(h)[:SPEC_HASH_SIZE].ljust(SPEC_HASH_SIZE, b"\x00")


class MotorBus(PortOwner):
    """One motor controller behind a serial port.

    Args:
        url: pyserial URL: ``/dev/ttyACM0``, ``/dev/pts/5``, ``socket://127.0.0.1:5555``.
        motor_count: joints the host expects the device to drive.
        spec_hash: 8 bytes identifying the robot spec (e.g. the first 8 bytes of its sha256);
            longer values are cut to 8. None skips the check.
        baudrate: line rate for real UARTs (ignored by ptys and sockets).
        timeout_s: how long one exchange waits for its reply (worst case about twice this).
        latency_window: how many recent round-trip times ``stats()`` summarises.
        disable_retries: DISABLE attempts made by ``close()``.
    """

    def __init__(
        self,
        url: str,
        motor_count: int,
        spec_hash: bytes | None = None,
        baudrate: int = 1_000_000,
        timeout_s: float = 0.1,
        latency_window: int = 4096,
        disable_retries: int = 3,
    ) -> None:
        self.url = url
        self.motor_count = motor_count
        self.spec_hash = None if spec_hash is None else _norm_hash(spec_hash)
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.disable_retries = disable_retries
        self.info: DeviceInfo | None = None
        self.last_state: DeviceState | None = None
        self._port: serial.SerialBase | None = None
        self._decoder = FrameDecoder()
        self._frames: deque[Frame] = deque()
        self._cmd = CommandCodec(motor_count)
        self._state = StateCodec(motor_count)
        # A random start makes a reply meant for an earlier bus on the same port (a late answer
        # after a timeout) very unlikely to match a request of this one.
        self._seq = random.getrandbits(16)
        self._lat = np.zeros(latency_window)
        self._lat_n = 0
        self._counts = {"exchanges": 0, "timeouts": 0, "stale": 0, "unexpected": 0,
                        "rejected": 0, "clamped": 0, "bytes_out": 0}  # fmt: skip

    # --- connection ----------------------------------------------------------------------

    def connect(self) -> DeviceInfo:
        """Open the port and handshake; raises ``ProtocolMismatch`` if the device differs."""
        if self._port is None:
            self._port = open_port(self.url, self.baudrate, self.timeout_s)
        try:
            self._port.reset_input_buffer()
            self._decoder.reset()
            self._frames.clear()
            self._write(b"\x00")  # end any partial frame the device holds from earlier noise
            frame = self._exchange(MsgType.HELLO, b"", MsgType.HELLO_REPLY)
            if frame.version != PROTOCOL_VERSION:
                raise ProtocolMismatch("protocol version", PROTOCOL_VERSION, frame.version)
            info = _decode_hello(frame.payload, frame.version)
            if info.motor_count != self.motor_count:
                raise ProtocolMismatch(
                    "motor count", self.motor_count, info.motor_count,
                    "the controller drives a different number of joints than the robot spec",
                )  # fmt: skip
            if self.spec_hash is not None and info.spec_hash != self.spec_hash:
                raise ProtocolMismatch(
                    "robot spec hash", self.spec_hash.hex(), info.spec_hash.hex(),
                    "the controller is configured for another robot spec",
                )  # fmt: skip
        except PayloadError as exc:
            self._close_port()
            raise BusError(f"malformed HELLO_REPLY from {self.url}: {exc}") from exc
        except BusError:
            self._close_port()
            raise
        self.info = info
        return info

    def close(self) -> bool:
        """Leave torque disabled (DISABLE with retries), then close the port.

        Returns True if the device confirmed it is disabled. Never raises.
        """
        confirmed = False
        if self.is_open:
            for _ in range(max(1, self.disable_retries)):
                try:
                    confirmed = not self.disable().enabled
                except BusError:
                    continue
                if confirmed:
                    break
        self._close_port()
        return confirmed

    # --- one verb per request ------------------------------------------------------------

    def read_state(self) -> DeviceState:
        """Current state; does not feed the watchdog."""
        return self._state_exchange(MsgType.GET_STATE)

    def send_command(self, cmd: CommandArrays) -> DeviceState:
        """Send one COMMAND, return the STATE answering it (one round trip).

        Raises ``DeviceFault`` (with ``.state``) if the device did not apply the command
        because it is not enabled (never enabled, watchdog, e-stop or fault).
        """
        try:
            payload = self._cmd.encode(cmd)
        except PayloadError as exc:
            raise ValueError(str(exc)) from exc
        state = self._state_exchange(MsgType.COMMAND, payload)
        if state.flags & Status.CLAMPED:
            self._counts["clamped"] += 1
        if state.flags & Status.REJECTED:
            self._counts["rejected"] += 1
            raise DeviceFault(f"command rejected: {_why_disabled(state)}; call enable()", state)
        return state

    def enable(self) -> DeviceState:
        """Enable torque; clears a latched watchdog / e-stop / fault."""
        state = self._state_exchange(MsgType.ENABLE)
        if not state.enabled:
            raise DeviceFault(f"device did not enable: {_why_disabled(state)}", state)
        return state

    def disable(self) -> DeviceState:
        """Disable torque: motors go to the device's safe state."""
        return self._state_exchange(MsgType.DISABLE)

    def estop(self) -> DeviceState:
        """Emergency stop: disable and latch ESTOP until the next enable()."""
        return self._state_exchange(MsgType.ESTOP)

    def heartbeat(self) -> DeviceState:
        """Feed the watchdog without changing the command."""
        return self._state_exchange(MsgType.HEARTBEAT)

    # --- statistics ----------------------------------------------------------------------

    def stats(self) -> dict[str, float]:
        """Counters and round-trip latency summary (seconds) over the recent window."""
        d = self._decoder.stats
        out: dict[str, float] = dict(self._counts)
        out.update(
            frames_good=d.frames_ok, frames_bad=d.frames_bad, crc_errors=d.crc_errors,
            cobs_errors=d.cobs_errors, length_errors=d.length_errors, overlong=d.overlong,
            resyncs=d.resyncs, bytes_in=d.bytes_in,
        )  # fmt: skip
        n = min(self._lat_n, self._lat.size)
        if n:
            lat = self._lat[:n]
            p50, p90, p99 = np.percentile(lat, [50, 90, 99])
            out.update(
                latency_n=n, latency_p50_s=float(p50), latency_p90_s=float(p90),
                latency_p99_s=float(p99), latency_max_s=float(lat.max()),
                latency_mean_s=float(lat.mean()),
            )  # fmt: skip
        return out

    # --- internals -----------------------------------------------------------------------

    def _state_exchange(self, msg_type: MsgType, payload: bytes = b"") -> DeviceState:
        frame = self._exchange(msg_type, payload, MsgType.STATE)
        try:
            state = self._state.decode(frame.payload)
        except PayloadError as exc:
            raise ProtocolMismatch(
                "STATE layout", f"{self.motor_count} joints", f"an undecodable payload ({exc})"
            ) from exc
        self.last_state = state
        return state

    def _write(self, wire: bytes) -> None:
        port = self._require_port()
        try:
            port.write(wire)
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"link to {self.url} lost while writing: {exc}") from exc
        self._counts["bytes_out"] += len(wire)

    def _exchange(self, msg_type: MsgType, payload: bytes, expect: MsgType) -> Frame:
        port = self._require_port()
        self._seq = seq = (self._seq + 1) & 0xFFFF
        wire = encode_frame(PROTOCOL_VERSION, msg_type, seq, payload)
        self._frames.clear()  # anything left over answers an older request
        t0 = time.perf_counter()
        deadline = t0 + self.timeout_s
        self._write(wire)
        self._counts["exchanges"] += 1
        while True:
            while self._frames:
                frame = self._frames.popleft()
                if frame.seq != seq:
                    self._counts["stale"] += 1
                    continue
                if frame.msg_type == MsgType.ERROR:
                    raise self._error_from(frame)
                if frame.msg_type != expect:
                    self._counts["unexpected"] += 1
                    continue
                self._lat[self._lat_n % self._lat.size] = time.perf_counter() - t0
                self._lat_n += 1
                return frame
            if time.perf_counter() >= deadline:
                self._counts["timeouts"] += 1
                raise BusTimeout(
                    f"no reply to {msg_type.name} from {self.url} within "
                    f"{self.timeout_s * 1000:.0f} ms"
                )
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise LinkLost(f"link to {self.url} lost: {exc}") from exc
            if data:
                self._frames.extend(self._decoder.feed(data))

    def _error_from(self, frame: Frame) -> BusError:
        try:
            err = decode_error(frame.payload)
        except PayloadError:
            return BusError(f"undecodable ERROR frame from {self.url}")
        if err.code == ErrorCode.VERSION_MISMATCH:
            device_v, host_v = err.detail >> 8, err.detail & 0xFF
            return ProtocolMismatch(
                "protocol version", f"v{host_v}", f"v{device_v}",
                "update the host software or the controller firmware so both match",
            )  # fmt: skip
        return DeviceError(err.code, err.detail, err.text)


def _why_disabled(state: DeviceState) -> str:
    if state.estopped:
        return "e-stop is latched"
    if state.watchdog_tripped:
        return "the watchdog tripped (commands stopped arriving in time)"
    if state.faulted:
        return f"fault {state.fault_code} is latched"
    if not state.flags & Status.HANDSHAKE:
        return "no handshake yet"
    return "torque is not enabled"
