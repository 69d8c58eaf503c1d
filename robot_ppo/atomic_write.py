"""Replace a file atomically: a crash leaves either the old file whole or the new one.

The data go to a temporary file in the target's own directory (a rename is atomic only
within one filesystem), which is flushed and fsynced, then renamed over the target with
`os.replace`; the directory is fsynced too, so the rename itself survives a power cut.
The temporary file is created with mode 0666 and the process umask applies, as for any
file `open()` creates (`tempfile.mkstemp` would give 0600: issue 25 item 16).

Every writer of a file that is replaced on purpose (checkpoint.pt, policy.onnx,
summary.json, config.yaml, the runtime's loop statistics) goes through `atomic_open` or
`atomic_write`. Light core: stdlib only, so the on-robot runtime uses it too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from robot_ppo.errors import UserError


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new, exclusively created file next to `target` (mode 0666 minus the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # a name clash in 2^48: draw again
            continue


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in `folder` durable (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | Path, text: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file that becomes `path` when the block ends without an error;
    on an error the temporary file is removed and `path` is left as it was."""
    target = Path(path)
    if target.is_dir():
        raise UserError(f"{str(target)!r} is a directory, not a file name: give the file to "
                        "write, e.g. a name inside that directory.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(target)
    try:
        fh: IO[Any] = os.fdopen(fd, "w", encoding="utf-8") if text else os.fdopen(fd, "wb")
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` (bytes, or str as UTF-8) to `path` atomically; returns the path."""
    with atomic_open(path, text=isinstance(data, str)) as fh:
        fh.write(data)
    return Path(path)
