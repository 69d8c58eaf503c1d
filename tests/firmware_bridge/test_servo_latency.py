"""The USB latency-timer check reads sysfs for a real ttyUSB and stays quiet for ptys."""

from __future__ import annotations

from pathlib import Path

from firmware_bridge.servo.latency import latency_warning, read_latency_timer_ms


def _sysfs(tmp_path: Path, ms: int) -> Path:
    d = tmp_path / "ttyUSB0"
    d.mkdir()
    (d / "latency_timer").write_text(f"{ms}\n")
    return tmp_path


def test_default_ftdi_timer_warns_with_the_fix(tmp_path: Path) -> None:
    sysfs = _sysfs(tmp_path, 16)
    assert read_latency_timer_ms("/dev/ttyUSB0", sysfs) == 16
    msg = latency_warning("/dev/ttyUSB0", sysfs)
    assert "16 ms" in msg and "echo 1 | sudo tee /sys/bus/usb-serial/devices/ttyUSB0/" in msg


def test_one_ms_and_ptys_are_quiet(tmp_path: Path) -> None:
    sysfs = _sysfs(tmp_path, 1)
    assert latency_warning("/dev/ttyUSB0", sysfs) == ""
    assert read_latency_timer_ms("/dev/pts/3", sysfs) is None
    assert read_latency_timer_ms("socket://127.0.0.1:5000", sysfs) is None
    assert read_latency_timer_ms("/dev/ttyUSB9", sysfs) is None  # no such adapter
