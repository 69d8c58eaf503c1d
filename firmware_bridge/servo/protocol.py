"""``PacketProtocol``: what a vendor's packet codec gives the generic ``ServoBus``.

A codec encodes instruction packets (bytes ready for the wire) and makes a stream decoder
whose ``feed(bytes)`` returns ``Packet``-like records with ``id``, ``inst``, ``params`` and
``error`` (None for instructions, the status error byte for status packets). The bus never
looks inside a packet beyond those fields, so Dynamixel 2.0 and Feetech plug in alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

__all__ = ["PacketDecoder", "PacketProtocol", "StatusLike"]


class StatusLike(Protocol):
    id: int
    inst: int
    params: bytes
    error: int | None


class PacketDecoder(Protocol):
    def feed(self, data: bytes) -> Sequence[StatusLike]: ...

    def reset(self) -> None: ...


class PacketProtocol(Protocol):
    name: str
    broadcast_id: int

    def decoder(self) -> PacketDecoder: ...

    def ping(self, servo_id: int) -> bytes: ...

    def read(self, servo_id: int, address: int, size: int) -> bytes: ...

    def write(self, servo_id: int, address: int, data: bytes) -> bytes: ...

    def reboot(self, servo_id: int) -> bytes: ...

    def sync_read(self, ids: Sequence[int], address: int, size: int) -> bytes: ...

    def sync_write(self, address: int, size: int, items: Iterable[tuple[int, bytes]]
                   ) -> bytes: ...

    def describe_error(self, error: int) -> str:
        """The status error byte in words ('' when 0)."""
        ...

    def hardware_alert(self, error: int) -> bool: ...

    def range_error(self, error: int) -> bool: ...
