"""Operator e-stop: SIGINT (Ctrl-C), SIGTERM (systemd stop, kill) and an e-stop file.

Signal handlers only set a flag; the control loop polls it every cycle and performs the
safe stop itself (damping, then disable), so no bus I/O ever happens inside a handler.
The e-stop file (`--estop-file PATH`): creating or touching PATH stops the robot, e.g.
`touch /run/robot-ppo.estop` from another shell, a foot-pedal script or a watchdog. A file
that already exists at start-up is refused, so a stale stop request is never ignored.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import FrameType

from robot_ppo.errors import UserError


class EStop:
    """A latch set by a signal or by the e-stop file appearing."""

    def __init__(self, estop_file: str | Path | None = None, poll_s: float = 0.01) -> None:
        self.file = str(estop_file) if estop_file else None
        if self.file and os.path.exists(self.file):
            raise UserError(f"the e-stop file {self.file!r} already exists: remove it to "
                            "confirm the robot may move.")
        self.poll_ns = int(poll_s * 1e9)
        self._next_poll = 0
        self.reason = ""
        self._previous: dict[int, object] = {}

    @property
    def triggered(self) -> bool:
        return bool(self.reason)

    def trigger(self, reason: str) -> None:
        if not self.reason:
            self.reason = reason

    def install(self) -> None:
        """Route SIGINT and SIGTERM to the latch (main thread only)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread: the caller owns signals
                return

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.trigger(f"signal {signal.Signals(signum).name}")

    def poll(self) -> bool:
        """Cheap per-cycle check; the file is stat'ed at most every `poll_s`."""
        if self.reason:
            return True
        if self.file:
            now = time.monotonic_ns()
            if now >= self._next_poll:
                self._next_poll = now + self.poll_ns
                if os.path.exists(self.file):
                    self.trigger(f"e-stop file {self.file}")
        return bool(self.reason)
