"""Silence PyBullet's C-level chatter: its build time on stderr at import, 'argv[0]=' on
stdout at connect.

`robot-ppo serve` promises the port as the first line of stdout, `--json` output must stay
parseable, and a banner on stderr in every command that touches the simulator reads as a
warning; so the output is sent to /dev/null at the file-descriptor level (PyBullet writes
with C stdio, past Python's sys.stdout/sys.stderr).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from typing import TextIO

try:
    _libc: ctypes.CDLL | None = ctypes.CDLL(None)
except OSError:  # pragma: no cover - non-POSIX
    _libc = None


@contextlib.contextmanager
def _fd_silenced(stream: TextIO) -> Iterator[None]:
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):  # captured / replaced stream
        yield
        return
    stream.flush()
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


@contextlib.contextmanager
def c_stdout_silenced() -> Iterator[None]:
    """C-level stdout to /dev/null (PyBullet's 'argv[0]=' when a client connects)."""
    with _fd_silenced(sys.stdout):
        yield


@contextlib.contextmanager
def pybullet_import_silenced() -> Iterator[None]:
    """C-level stdout and stderr to /dev/null while PyBullet is imported: it prints its build
    time to stderr then. An ImportError still reaches the user: Python prints it after the
    block, with stderr restored."""
    with _fd_silenced(sys.stdout), _fd_silenced(sys.stderr):
        yield
