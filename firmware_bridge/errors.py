"""Exceptions raised by the motor bus. Their messages are shown to users by the CLI."""

from __future__ import annotations

__all__ = [
    "BusError",
    "BusTimeout",
    "DeviceError",
    "DeviceFault",
    "LinkLost",
    "PortNotFound",
    "PortPermissionDenied",
    "ProtocolMismatch",
]


class BusError(Exception):
    """Base of every motor-bus failure."""


class PortNotFound(BusError):
    """The serial port named by the URL does not exist."""


class PortPermissionDenied(BusError):
    """The serial port exists but this user may not open it."""


class BusTimeout(BusError):
    """No valid reply arrived within the timeout."""


class LinkLost(BusError):
    """The port or connection went away (cable pulled, server closed, device reset)."""


class ProtocolMismatch(BusError):
    """Host and device disagree on protocol version, motor count or robot spec.

    ``expected`` is what the host wanted, ``actual`` what the device reported.
    """

    def __init__(self, what: str, expected: object, actual: object, hint: str = "") -> None:
        self.what = what
        self.expected = expected
        self.actual = actual
        msg = f"{what} mismatch: host expects {expected}, device reports {actual}"
        super().__init__(f"{msg}. {hint}" if hint else msg)


class DeviceError(BusError):
    """The device answered with an ERROR frame (``code`` from ``layouts.ErrorCode``)."""

    def __init__(self, code: int, detail: int, text: str) -> None:
        self.code = code
        self.detail = detail
        self.text = text
        super().__init__(f"device error {code}: {text}")


class DeviceFault(BusError):
    """The device refused a command: not enabled, watchdog tripped, e-stopped or faulted.

    ``state`` holds the ``DeviceState`` the device answered with.
    """

    def __init__(self, message: str, state: object) -> None:
        self.state = state
        super().__init__(message)
