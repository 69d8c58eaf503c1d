"""The virtual motor controller: a ``Device`` served over a pty or a loopback socket.

Modes:
* ``lockstep``: the plant advances exactly one control period per received COMMAND, before
  the STATE reply; nothing moves between commands. Deterministic, for tests and parity runs.
* ``realtime``: the plant advances every control period on the monotonic clock with the
  latest limited (or safe) command; every request is answered at once with the latest state.

``hold_until_enable`` (both modes; `robot-ppo serve` turns it on by default): the plant
is not advanced at all until the device is first enabled, so a simulated robot stands still
at its initial state while its motors are off, as a real one does, however long the host
takes to connect. After that it moves (falls) as physics says, enabled or not. Off (the
default here): the plant moves from the start (how a test produces a robot that fell
before the host enabled it). The server prints nothing; ``url`` is what the host passes to
``MotorBus``.

The served endpoint is a ``Device`` (this project's protocol) or any object of the same
shape: ``handle(packet, now, step_on_command) -> bytes``, ``poll``, ``step_plant``, ``plant``,
``enabled``; one with a ``decoder()`` method supplies its own packet decoder and a
``steps_taken`` counter (``firmware_bridge.servo.chain.ServoChain``: emulated smart servos).
An empty reply (a broadcast, a Sync Write) sends nothing.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from firmware_bridge.device import Device
from firmware_bridge.faults import FaultConfig, FaultInjector
from firmware_bridge.framing import FrameDecoder
from firmware_bridge.transports import Transport, TransportClosed

__all__ = ["DeviceServer", "ServerStats"]

Mode = Literal["lockstep", "realtime"]
_IDLE_WAIT_S = 0.05  # select() timeout when nothing is scheduled (stop() wakes it anyway)
_MAX_BEHIND_PERIODS = 20  # realtime: past this lag, skip ahead instead of catching up


@dataclass
class ServerStats:
    """Counters of a ``DeviceServer``."""

    requests: int = 0
    replies: int = 0
    plant_steps: int = 0
    overruns: int = 0  # realtime: times the loop fell behind and skipped ahead
    disconnected: bool = False  # the fault injector closed the transport


class DeviceServer:
    """Serve one ``Device`` on one ``Transport`` until ``stop()`` (thread-safe)."""

    def __init__(
        self,
        device: Device,
        transport: Transport,
        mode: Mode = "lockstep",
        faults: FaultConfig | None = None,
        latency_ms: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        hold_until_enable: bool = False,
        reset_after_disable: Callable[[], None] | None = None,
    ) -> None:
        if mode not in ("lockstep", "realtime"):
            raise ValueError(f"mode must be 'lockstep' or 'realtime', got {mode!r}")
        self.device = device
        self.transport = transport
        self.mode: Mode = mode
        self.faults = FaultInjector(faults or FaultConfig())
        self.latency_s = latency_ms / 1000.0
        self.clock = clock
        make_decoder = getattr(device, "decoder", None)
        self.decoder: FrameDecoder = make_decoder() if callable(make_decoder) else FrameDecoder()
        self.stats = ServerStats()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._out: deque[tuple[float, bytes]] = deque()  # (due time, wire bytes), due-ordered
        self._thread: threading.Thread | None = None
        self._sessions = transport.sessions
        self._closed = False
        self._released = not hold_until_enable
        """False while the plant is held at its initial state (until the first ENABLE)."""
        self._reset_after_disable = reset_after_disable
        """Called when the device goes from enabled to disabled: the operator who sets the
        robot up between runs (a new initial state, held until the next ENABLE)."""
        self._was_enabled = False

    @property
    def url(self) -> str:
        """The port to give pyserial / ``MotorBus``: a /dev/pts path or socket://127.0.0.1:PORT."""
        return self.transport.url

    # --- lifecycle ---------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Serve until ``stop()`` is called or the transport is closed."""
        self.serve(None)

    def serve(self, duration_s: float | None) -> None:
        """Serve for ``duration_s`` seconds (None = until stopped)."""
        end = None if duration_s is None else self.clock() + duration_s
        with contextlib.suppress(TransportClosed):
            self._loop(end)

    def start(self) -> threading.Thread:
        """Serve in a daemon thread; returns it (call ``stop()`` to end it)."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="device-server", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Ask the serving loop to return; safe from any thread or a signal handler."""
        self._stop.set()
        if not self._closed:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    def close(self) -> None:
        """Stop, join the thread if ``start()`` made one, and release the transport."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.transport.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> DeviceServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the loop ----------------------------------------------------------------------------

    def _loop(self, end: float | None) -> None:
        realtime = self.mode == "realtime"
        period = self.device.plant.control_period_s
        next_tick = self.clock() + period
        while not self._stop.is_set():
            now = self.clock()
            if end is not None and now >= end:
                return
            timeout = (next_tick - now) if realtime else _IDLE_WAIT_S
            if self._out:
                timeout = min(timeout, self._out[0][0] - now)
            if end is not None:
                timeout = min(timeout, end - now)
            fd = self.transport.fileno()
            ready, _, _ = select.select([fd, self._wake_r], [], [], max(0.0, timeout))
            if self._wake_r in ready:
                os.read(self._wake_r, 64)
            if fd in ready and not self._receive():
                return
            now = self.clock()
            if realtime:
                if now - next_tick > _MAX_BEHIND_PERIODS * period:
                    self.stats.overruns += 1
                    next_tick = now
                while now >= next_tick:
                    self.device.poll(next_tick)
                    if self._moving():
                        self.device.step_plant()
                        self.stats.plant_steps += 1
                    next_tick += period
            else:
                self.device.poll(now)
            self._flush(now)

    def _receive(self) -> bool:
        """Read and answer what arrived; False once the transport was closed on purpose."""
        data = self.transport.read()
        if self.transport.sessions != self._sessions:  # a new client: drop stale partial bytes
            self._sessions = self.transport.sessions
            self.decoder.reset()
        if not data:
            return True
        data = self.faults.mangle(data, reply=False)
        lockstep = self.mode == "lockstep"
        for frame in self.decoder.feed(data):
            now = self.clock()
            self.stats.requests += 1
            if self.faults.stalled(now):
                continue
            step = lockstep and self._moving()
            taken = getattr(self.device, "steps_taken", None)
            reply = self.device.handle(frame, now, step_on_command=step)
            if taken is not None:
                self.stats.plant_steps += self.device.steps_taken - taken  # type: ignore[attr-defined]
            elif step and frame.msg_type == 0x10:
                self.stats.plant_steps += 1
            if not reply:
                continue
            self.faults.count_reply()
            self.stats.replies += 1
            self._send(now, self.faults.mangle(reply, reply=True))
            if self.faults.must_disconnect():
                self._flush(float("inf"))
                self.stats.disconnected = True
                self.transport.close()
                return False
        return True

    def _moving(self) -> bool:
        """Whether the plant may advance: always, once the device has been enabled (and,
        with `reset_after_disable`, until its next disable)."""
        enabled = bool(self.device.enabled)
        if self._reset_after_disable is not None and self._was_enabled and not enabled:
            self._reset_after_disable()
            self._released = False
        self._was_enabled = enabled
        if not self._released and enabled:
            self._released = True
        return self._released

    def _send(self, now: float, wire: bytes) -> None:
        due = now + self.latency_s + self.faults.reply_delay_s()
        if self._out:
            due = max(due, self._out[-1][0])  # a byte stream keeps its order
        if due <= now:
            self.transport.write(wire)
        else:
            self._out.append((due, wire))

    def _flush(self, now: float) -> None:
        while self._out and self._out[0][0] <= now:
            self.transport.write(self._out.popleft()[1])
