"""The USB-serial latency timer: an FTDI adapter holds received bytes up to this long (16 ms by
default) before passing them on, which caps a request/response loop near 30 Hz. Read from
sysfs on Linux; ptys, sockets and non-USB ports have none."""

from __future__ import annotations

from pathlib import Path

__all__ = ["latency_warning", "read_latency_timer_ms"]

SYSFS = Path("/sys/bus/usb-serial/devices")


def read_latency_timer_ms(url: str, sysfs: Path = SYSFS) -> int | None:
    """The adapter's latency timer in ms, or None (not a USB-serial tty, or not readable)."""
    if "://" in url or not url.startswith("/dev/tty"):
        return None
    path = sysfs / Path(url).resolve().name / "latency_timer"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def latency_warning(url: str, sysfs: Path = SYSFS) -> str:
    """One line telling the user the loop rate is capped and how to fix it ('' when fine)."""
    ms = read_latency_timer_ms(url, sysfs)
    if ms is None or ms <= 1:
        return ""
    name = Path(url).resolve().name
    return (f"warning: {url}'s USB latency timer is {ms} ms, which caps the loop near "
            f"{1000 / (2 * ms + 1):.0f} Hz; set it to 1 ms: echo 1 | sudo tee "
            f"/sys/bus/usb-serial/devices/{name}/latency_timer")
