"""Building the C core on demand: cached by a hash of the sources, and a clear one-line error
naming the missing tool when cmake or a compiler is absent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_bridge import c_device, c_library


def _no_tools_path(tmp_path: Path, keep: tuple[str, ...]) -> str:
    """A PATH holding only links to ``keep`` (so cmake or cc can be made to vanish)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in keep:
        for d in os.environ["PATH"].split(os.pathsep):
            if (Path(d) / tool).exists():
                (bin_dir / tool).symlink_to(Path(d) / tool)
                break
    return str(bin_dir)


@pytest.mark.parametrize(("keep", "missing"), [(("cc", "gcc"), "cmake"), (("cmake",), "compiler")])
def test_missing_tool_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               keep: tuple[str, ...], missing: str) -> None:  # fmt: skip
    monkeypatch.setenv("PATH", _no_tools_path(tmp_path, keep))
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("ROBOT_PPO_FIRMWARE_BUILD", str(tmp_path / "build"))
    with pytest.raises(c_device.FirmwareBuildError, match=missing):
        c_device.build_library()


def test_serve_device_c_without_cmake_is_a_user_error(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=_no_tools_path(tmp_path, ("cc", "gcc")),
               ROBOT_PPO_FIRMWARE_BUILD=str(tmp_path / "build"))  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "robot_ppo.cli", "serve", "--device", "c",
                           "--duration", "1"], capture_output=True, text=True, env=env,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    err = [ln for ln in proc.stderr.splitlines() if ln.startswith("robot-ppo serve: error")]
    assert len(err) == 1 and "cmake is not installed" in err[0] and "--device python" in err[0]
    assert proc.stdout == ""  # no port announced: nothing to connect to


def test_build_is_cached_and_rebuilt_when_a_source_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "firmware"
    src.mkdir()
    for top in c_library._BUILT_FROM:  # a private copy of the sources to edit
        s = c_device.firmware_source_dir() / top
        if s.is_file():
            (src / top).write_bytes(s.read_bytes())
        else:
            for f in s.rglob("*"):
                if f.is_file():
                    (src / top / f.relative_to(s)).parent.mkdir(parents=True, exist_ok=True)
                    (src / top / f.relative_to(s)).write_bytes(f.read_bytes())
    monkeypatch.setattr(c_library, "_SOURCE", src)  # build_library reads it there
    monkeypatch.setenv("ROBOT_PPO_FIRMWARE_BUILD", str(tmp_path / "build"))
    lib = c_device.build_library()
    first = lib.stat().st_mtime_ns
    assert c_device.build_library().stat().st_mtime_ns == first  # cached: not rebuilt
    crc = src / "src" / "fw_crc.c"
    crc.write_text(crc.read_text() + "\n/* changed */\n")
    assert c_device.build_library().stat().st_mtime_ns != first
