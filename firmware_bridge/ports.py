"""Opening a pyserial port by URL, with errors a user can act on."""

from __future__ import annotations

import contextlib
import errno
from types import TracebackType
from typing import Any, TypeVar

import serial
import serial.tools.list_ports

from firmware_bridge.errors import BusError, LinkLost, PortNotFound, PortPermissionDenied

__all__ = ["PortOwner", "available_ports", "open_port"]

_NOT_FOUND = {errno.ENOENT, errno.ENXIO, errno.ENODEV}
_DENIED = {errno.EACCES, errno.EPERM}


def available_ports() -> list[str]:
    """Device paths of the serial ports present on this machine."""
    return sorted(p.device for p in serial.tools.list_ports.comports())


def _ports_hint() -> str:
    ports = available_ports()
    if not ports:
        return "no serial ports were found on this machine (is the controller plugged in?)"
    return "serial ports present: " + ", ".join(ports)


def open_port(url: str, baudrate: int, timeout_s: float) -> serial.SerialBase:
    """Open ``url`` (/dev/tty..., socket://host:port, loop://) for the motor bus."""
    kwargs: dict[str, object] = {"baudrate": baudrate, "timeout": timeout_s, "write_timeout": 1.0}
    if "://" not in url:
        kwargs["exclusive"] = True  # two hosts must never drive the same motors
    try:
        return serial.serial_for_url(url, **kwargs)
    except ValueError as exc:
        raise BusError(f"cannot open {url!r}: {exc}") from exc
    except (serial.SerialException, OSError) as exc:
        code = getattr(exc, "errno", None)
        if url.startswith("socket://"):
            raise LinkLost(
                f"cannot connect to {url}: {exc}. Is the virtual controller "
                "(robot-ppo serve) running and listening on that port?"
            ) from exc
        if code in _NOT_FOUND:
            raise PortNotFound(f"serial port {url} does not exist; {_ports_hint()}") from exc
        if code in _DENIED:
            raise PortPermissionDenied(
                f"permission denied opening {url}: add your user to the 'dialout' group "
                "(sudo usermod -aG dialout $USER, then log out and back in) or fix the "
                "device's permissions with a udev rule"
            ) from exc
        if code is not None and "lock" in str(exc).lower():
            raise BusError(f"{url} is already in use by another program: {exc}") from exc
        raise BusError(f"cannot open {url}: {exc}; {_ports_hint()}") from exc


_Bus = TypeVar("_Bus", bound="PortOwner")


class PortOwner:
    """What every host bus does with the port it opened (MotorBus, ServoBus): `_port` is the
    open pyserial port or None, `url` where it leads, `info` what connect() learned. A bus
    is a context manager: connected on entry (unless it already is), closed on exit."""

    url: str
    info: Any
    _port: serial.SerialBase | None

    def connect(self) -> Any:
        raise NotImplementedError

    def close(self) -> bool:
        raise NotImplementedError

    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    def __enter__(self: _Bus) -> _Bus:
        if self.info is None:
            self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _require_port(self) -> serial.SerialBase:
        if self._port is None or not self._port.is_open:
            raise BusError(f"{self.url} is not open: call connect() first")
        return self._port

    def _close_port(self) -> None:
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
            self._port = None
        self.info = None
