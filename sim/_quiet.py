"""Silence C-level stdout (PyBullet prints its build time and 'argv[0]=' there).

`robot-ppo serve` promises the port as the first line of stdout, and `--json` output must
stay parseable, so the simulator's own chatter is sent to /dev/null at the fd level.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator

try:
    _libc: ctypes.CDLL | None = ctypes.CDLL(None)
except OSError:  # pragma: no cover - non-POSIX
    _libc = None


@contextlib.contextmanager
def c_stdout_silenced() -> Iterator[None]:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # captured / replaced stdout
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        if _libc is not None:
            _libc.fflush(None)  # C stdio buffers still point at /dev/null: empty them there
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)
