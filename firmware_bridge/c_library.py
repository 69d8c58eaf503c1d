"""The C firmware core's host shared library: built on first use, cached, loaded via ctypes.

Built from the C sources (firmware_bridge/firmware/) with cmake and cached, keyed by a hash
of the sources, in ``firmware_bridge/firmware/build/host`` or, if that is not writable,
``~/.cache/robot_ppo``; ``ROBOT_PPO_FIRMWARE_BUILD`` overrides the place. ``load_library``
declares every ``fwh_*`` function's ctypes signature once; ``firmware_bridge.c_device``
wraps them.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

__all__ = ["FirmwareBuildError", "build_library", "firmware_source_dir", "load_library"]

_SOURCE = Path(__file__).resolve().parent / "firmware"
_BUILT_FROM = ("CMakeLists.txt", "include", "src", "ports/host")
_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


class FirmwareBuildError(RuntimeError):
    """The C core could not be built (a tool is missing or the compiler failed)."""


def firmware_source_dir() -> Path:
    """Where the C sources live (CMakeLists.txt at the top)."""
    return _SOURCE


def _sources_hash() -> str:
    h = hashlib.sha256()
    for top in _BUILT_FROM:
        p = _SOURCE / top
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
        for f in files:
            h.update(str(f.relative_to(_SOURCE)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _build_dir() -> Path:
    env = os.environ.get("ROBOT_PPO_FIRMWARE_BUILD")
    if env:
        return Path(env)
    local = _SOURCE / "build" / "host"
    with contextlib.suppress(OSError):
        local.mkdir(parents=True, exist_ok=True)
        if os.access(local, os.W_OK):
            return local
    return Path.home() / ".cache" / "robot_ppo" / "firmware-host"


def _find_lib(build: Path) -> Path | None:
    for name in ("libfw_host.so", "libfw_host.dylib"):
        if (build / name).exists():
            return build / name
    return None


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise FirmwareBuildError(
            f"building the C firmware core failed ({' '.join(cmd[:3])} ...):\n" + "\n".join(tail)
        )


def build_library() -> Path:
    """Build (or reuse) the host shared library; returns its path."""
    if shutil.which("cmake") is None:
        raise FirmwareBuildError(
            "cannot build the C device: cmake is not installed (Debian/Ubuntu: "
            "apt-get install cmake; macOS: brew install cmake)"
        )
    cc = os.environ.get("CC") or next(
        (c for c in ("cc", "gcc", "clang") if shutil.which(c)), None
    )
    if cc is None or shutil.which(cc) is None:
        raise FirmwareBuildError(
            "cannot build the C device: no C compiler found (cc, gcc or clang; "
            "Debian/Ubuntu: apt-get install gcc)"
        )
    build = _build_dir()
    build.mkdir(parents=True, exist_ok=True)
    stamp = build / "sources.sha256"
    want = _sources_hash()
    with open(build / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several processes may build at once
        lib = _find_lib(build)
        if lib is not None and stamp.exists() and stamp.read_text() == want:
            return lib
        _run(["cmake", "-S", str(_SOURCE), "-B", str(build), "-DFW_BUILD_TESTS=OFF",
              "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_C_COMPILER={cc}"])
        _run(["cmake", "--build", str(build), "--target", "fw_host"])
        lib = _find_lib(build)
        if lib is None:
            raise FirmwareBuildError(f"cmake built no libfw_host in {build}")
        stamp.write_text(want)
        return lib


_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "fwh_max_motors": (ctypes.c_int, []),
    "fwh_max_reply_wire": (ctypes.c_size_t, []),
    "fwh_device_new": (_P, []),
    "fwh_device_free": (None, [_P]),
    "fwh_config": (None, [_P, ctypes.c_uint8, ctypes.c_uint8, ctypes.c_uint8, ctypes.c_uint8,
                          ctypes.c_uint32, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_char_p,
                          ctypes.c_char_p, ctypes.c_uint8]),
    "fwh_config_joint": (ctypes.c_int, [_P, ctypes.c_int, _P, ctypes.c_float, ctypes.c_float,
                                        ctypes.c_float]),
    "fwh_init": (ctypes.c_int, [_P]),
    "fwh_poll": (ctypes.c_int, [_P, ctypes.c_uint64]),
    "fwh_process": (ctypes.c_uint8, [_P, ctypes.c_uint8, ctypes.c_uint8, ctypes.c_uint16,
                                     ctypes.c_char_p, ctypes.c_uint16, ctypes.c_uint64]),
    "fwh_set_sensors": (None, [_P, ctypes.c_uint64, _P, _P, _P, ctypes.c_int, _P]),
    "fwh_reply": (ctypes.c_size_t, [_P, _P, ctypes.c_size_t]),
    "fwh_feed": (ctypes.c_size_t, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64, _P,
                                   ctypes.c_size_t]),
    "fwh_active": (None, [_P, _P, _P, _P, _P, _P, _P]),
    "fwh_status": (None, [_P, _P, _P]),
    "fwh_decoder_new": (_P, []),
    "fwh_decoder_free": (None, [_P]),
    "fwh_decoder_reset": (None, [_P]),
    "fwh_decoder_pending": (ctypes.c_size_t, [_P]),
    "fwh_decoder_stats": (None, [_P, _P]),
    "fwh_decoder_feed": (ctypes.c_size_t, [_P, ctypes.c_char_p, ctypes.c_size_t, _P,
                                           ctypes.c_size_t, _P]),
    "fwh_cobs_encode": (ctypes.c_size_t, [ctypes.c_char_p, ctypes.c_size_t, _P,
                                          ctypes.c_size_t]),
    "fwh_crc32": (ctypes.c_uint32, [ctypes.c_char_p, ctypes.c_size_t]),
}


def load_library() -> ctypes.CDLL:
    """The C core's host library, built on first use; raises ``FirmwareBuildError``."""
    global _lib
    with _lock:
        if _lib is None:
            lib = ctypes.CDLL(str(build_library()))
            for name, (res, args) in _SIGNATURES.items():
                fn = getattr(lib, name)
                fn.restype = res
                fn.argtypes = args
            _lib = lib
        return _lib
