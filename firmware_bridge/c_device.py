"""The C firmware core (firmware_bridge/firmware/) as a drop-in for ``Device`` and ``FrameDecoder``.

``CDevice`` has ``Device``'s interface (``handle``, ``poll``, ``step_plant``, ``flags``,
``info``, ``active``, the latches and counters), but every decision is taken by the C state
machine, limits and watchdog through ctypes; ``CFrameDecoder`` is the C byte-at-a-time
decoder behind ``FrameDecoder``'s interface. ``c_device_server`` serves both, so the host
tests (runtime, faults, fuzzing) run against the code a microcontroller runs.

The shared library is built on first use and cached by ``firmware_bridge.c_library``
(``build_library``, ``load_library`` and ``FirmwareBuildError`` are re-exported here).

Time: the C core counts whole microseconds, so a watchdog gap within 1 µs of the limit may
be judged differently than by the float seconds of ``Device``; everything else agrees bit
for bit (tests/firmware_bridge/test_c_parity.py).
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

from firmware_bridge.c_library import (
    FirmwareBuildError,
    build_library,
    firmware_source_dir,
    load_library,
)
from firmware_bridge.codec import (
    ACCEL_LSB,
    GYRO_LSB,
    Q_LSB,
    QD_LSB,
    QUAT_LSB,
    TAU_LSB,
    TIME_LSB,
    quantize,
)
from firmware_bridge.device import DeviceConfig
from firmware_bridge.firmware_config import WireConfig, wire_config
from firmware_bridge.framing import MAX_WIRE_FRAME, DecoderStats, Frame
from firmware_bridge.layouts import MsgType, Status
from firmware_bridge.messages import DeviceInfo, JointCommand
from firmware_bridge.plant import Plant
from firmware_bridge.server import DeviceServer
from firmware_bridge.transports import Transport

__all__ = [
    "CDevice",
    "CFrameDecoder",
    "FirmwareBuildError",
    "build_library",
    "c_device_server",
    "firmware_source_dir",
    "load_library",
]

def _ptr(a: np.ndarray) -> int:
    return int(a.ctypes.data)


def _us(t: float) -> int:
    return max(0, round(t * 1e6))


class CDevice:
    """``Device`` with the C core deciding: same constructor, methods and attributes."""

    def __init__(self, config: DeviceConfig, plant: Plant) -> None:
        if plant.motor_count != config.motor_count:
            raise ValueError(f"plant has {plant.motor_count} joints, config {config.motor_count}")
        self.config = config
        self.plant = plant
        self.has_imu = plant.read().imu is not None
        self.wire: WireConfig = wire_config(config, plant.control_period_s, self.has_imu)
        lib = self._lib = load_library()
        n = config.motor_count
        if not 1 <= n <= lib.fwh_max_motors():
            raise ValueError(f"motor_count {n} is outside 1..{lib.fwh_max_motors()}")
        self._h = lib.fwh_device_new()
        if not self._h:
            raise MemoryError("fwh_device_new")
        w = self.wire
        lib.fwh_config(self._h, n, w.protocol_version, w.safe_mode, int(w.has_imu),
                       w.watchdog_us, w.watchdog_ms, w.control_period_us, w.spec_hash,
                       w.firmware_id, len(w.firmware_id))
        bounds = np.zeros(6, dtype=np.int32)
        for j, jl in enumerate(w.joints):
            bounds[:] = (jl.q_lo, jl.q_hi, jl.qd_lo, jl.qd_hi, jl.tau_lo, jl.tau_hi)
            lib.fwh_config_joint(self._h, j, _ptr(bounds), jl.kp_max, jl.kd_max, jl.kd_safe)
        if lib.fwh_init(self._h) != 0:
            raise ValueError("the C core refused the configuration")
        self._reply = np.zeros(lib.fwh_max_reply_wire(), dtype=np.uint8)
        self._sens = np.zeros((3, n), dtype=np.int32)
        self._imu = np.zeros(10, dtype=np.int32)
        self._out_mode = np.zeros(n, dtype=np.uint8)
        self._out_i = np.zeros((3, n), dtype=np.int32)
        self._out_f = np.zeros((2, n), dtype=np.float32)
        self._status = np.zeros(10, dtype=np.uint32)
        self._times = np.zeros(2, dtype=np.uint64)
        # ctypes drops the GIL during a call: the server thread and a reader thread (tests,
        # the hold logic) must not interleave calls that share these buffers.
        self._mutex = threading.RLock()
        self.active: JointCommand = self._read_active()
        self.safe_command = self.active.copy()

    def close(self) -> None:
        """Free the C device (also done when the object is collected)."""
        h, self._h = getattr(self, "_h", None), None
        if h:
            self._lib.fwh_device_free(h)

    def __del__(self) -> None:
        self.close()

    # --- Device's interface ---------------------------------------------------------------

    def handle(self, frame: Frame, now: float, step_on_command: bool = False) -> bytes:
        """Process one request frame and return the reply's wire bytes (as ``Device``)."""
        lib = self._lib
        payload = frame.payload
        with self._mutex:
            kind = lib.fwh_process(self._h, frame.version, frame.msg_type, frame.seq, payload,
                                   len(payload), _us(now))
            self.active = self._read_active()
            if kind == MsgType.STATE:
                if step_on_command and frame.msg_type == MsgType.COMMAND:
                    self.step_plant()
                self._load_sensors()
            n = lib.fwh_reply(self._h, _ptr(self._reply), self._reply.size)
            return self._reply[:n].tobytes()

    def poll(self, now: float) -> bool:
        """Run the C watchdog at time ``now``; True if it tripped on this call."""
        with self._mutex:
            tripped = bool(self._lib.fwh_poll(self._h, _us(now)))
            if tripped:
                self.active = self._read_active()
            return tripped

    def step_plant(self) -> None:
        """Advance the plant one control period with the command the C core holds."""
        self.plant.step(self.active)

    def flags(self) -> Status:
        """Latched status flags (without the per-reply REJECTED/CLAMPED bits)."""
        s = self._read_status()
        f = Status(0)
        for on, bit in ((s[1], Status.ENABLED), (s[2], Status.WATCHDOG), (s[4], Status.FAULT),
                        (s[3], Status.ESTOP), (s[0], Status.HANDSHAKE)):  # fmt: skip
            if on:
                f |= bit
        return f

    def info(self) -> DeviceInfo:
        """What HELLO_REPLY announces."""
        c = self.config
        return DeviceInfo(protocol_version=c.protocol_version, motor_count=c.motor_count,
                          has_imu=self.has_imu, watchdog_s=c.watchdog_s,
                          control_period_s=self.plant.control_period_s,
                          spec_hash=c.spec_hash, firmware_id=c.firmware_id)  # fmt: skip

    @property
    def handshake(self) -> bool:
        return bool(self._read_status()[0])

    @property
    def enabled(self) -> bool:
        return bool(self._read_status()[1])

    @property
    def watchdog_tripped(self) -> bool:
        return bool(self._read_status()[2])

    @property
    def estopped(self) -> bool:
        return bool(self._read_status()[3])

    @property
    def faulted(self) -> bool:
        return bool(self._read_status()[4])

    @property
    def fault_code(self) -> int:
        return int(self._read_status()[5])

    @property
    def commands_applied(self) -> int:
        return int(self._read_status()[7])

    @property
    def commands_rejected(self) -> int:
        return int(self._read_status()[8])

    @property
    def outputs_set(self) -> int:
        """How many times the core called the seam's set_outputs."""
        return int(self._read_status()[9])

    @property
    def last_feed(self) -> float:
        with self._mutex:
            self._read_status()
            return int(self._times[0]) / 1e6

    @property
    def trip_time(self) -> float | None:
        with self._mutex:
            s = self._read_status()
            return int(self._times[1]) / 1e6 if s[6] else None

    def feed_bytes(self, data: bytes, now: float) -> bytes:
        """The board path: every byte through the core's own decoder (``fw_device_rx_byte``),
        with the plant's current reading; returns the reply bytes it transmitted."""
        cap = len(data) + self._reply.size * (len(data) // 11 + 1)
        out = np.zeros(cap, dtype=np.uint8)
        with self._mutex:
            self._load_sensors()
            n = self._lib.fwh_feed(self._h, data, len(data), _us(now), _ptr(out), cap)
            if n == ctypes.c_size_t(-1).value:
                raise RuntimeError("fwh_feed: reply buffer too small")
            self.active = self._read_active()
        return out[:n].tobytes()

    # --- internals -------------------------------------------------------------------------

    def _read_status(self) -> np.ndarray:
        with self._mutex:
            self._lib.fwh_status(self._h, _ptr(self._status), _ptr(self._times))
            return self._status.copy()

    def _read_active(self) -> JointCommand:
        i, f = self._out_i, self._out_f
        self._lib.fwh_active(self._h, _ptr(self._out_mode), _ptr(i[0]), _ptr(i[1]), _ptr(i[2]),
                             _ptr(f[0]), _ptr(f[1]))
        return JointCommand(mode=self._out_mode.copy(), q=i[0] / Q_LSB, qd=i[1] / QD_LSB,
                            tau=i[2] / TAU_LSB, kp=f[0].astype(np.float64),
                            kd=f[1].astype(np.float64))  # fmt: skip

    def _load_sensors(self) -> None:
        r = self.plant.read()
        s = self._sens
        s[0] = quantize(r.q, Q_LSB)
        s[1] = quantize(r.qd, QD_LSB)
        s[2] = quantize(r.tau, TAU_LSB)
        if r.imu is not None:
            self._imu[:4] = quantize(r.imu.quat, QUAT_LSB)
            self._imu[4:7] = quantize(r.imu.gyro, GYRO_LSB)
            self._imu[7:] = quantize(r.imu.accel, ACCEL_LSB)
        self._lib.fwh_set_sensors(self._h, max(0, round(r.t * TIME_LSB)), _ptr(s[0]), _ptr(s[1]),
                                  _ptr(s[2]), int(r.imu is not None), _ptr(self._imu))


class CFrameDecoder:
    """``FrameDecoder`` with the C decoder doing the work (same stats, same frames)."""

    def __init__(self) -> None:
        self._lib = load_library()
        self._h = self._lib.fwh_decoder_new()
        if not self._h:
            raise MemoryError("fwh_decoder_new")
        self.max_frame = MAX_WIRE_FRAME
        self._stats = np.zeros(8, dtype=np.uint32)
        self._count = np.zeros(1, dtype=np.uint32)

    def close(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h:
            self._lib.fwh_decoder_free(h)

    def __del__(self) -> None:
        self.close()

    def reset(self) -> None:
        """Forget any partial frame."""
        self._lib.fwh_decoder_reset(self._h)

    @property
    def pending(self) -> int:
        """Bytes held of a frame not yet terminated."""
        return int(self._lib.fwh_decoder_pending(self._h))

    @property
    def stats(self) -> DecoderStats:
        """The C decoder's counters as a ``DecoderStats``."""
        self._lib.fwh_decoder_stats(self._h, _ptr(self._stats))
        return DecoderStats(*(int(v) for v in self._stats))

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Consume ``data``; return the valid frames it completed, in order. Never raises."""
        raw = bytes(data)
        cap = len(raw) + self.pending + 8  # a frame's record is shorter than its wire bytes
        out = np.zeros(cap, dtype=np.uint8)
        n = self._lib.fwh_decoder_feed(self._h, raw, len(raw), _ptr(out), cap, _ptr(self._count))
        buf = out[:n].tobytes()
        frames = []
        pos = 0
        for _ in range(int(self._count[0])):
            ln = buf[pos + 4] | (buf[pos + 5] << 8)
            frames.append(Frame(buf[pos], buf[pos + 1], buf[pos + 2] | (buf[pos + 3] << 8),
                                buf[pos + 6 : pos + 6 + ln]))
            pos += 6 + ln
        return frames


def c_device_server(
    config: DeviceConfig, plant: Plant, transport: Transport, **server_kw: Any
) -> DeviceServer:
    """A ``DeviceServer`` whose decoder and device are both the C core."""
    server = DeviceServer(CDevice(config, plant), transport, **server_kw)  # type: ignore[arg-type]
    server.decoder = CFrameDecoder()  # type: ignore[assignment]
    return server
