"""Byte transports a ``DeviceServer`` listens on: a pseudo-terminal or a loopback TCP socket.

Either way the host opens it with pyserial like a real port: the pty's slave path
(``/dev/pts/N``) or ``socket://127.0.0.1:PORT``. Writes never block: like a UART without
flow control, bytes the peer is not reading are dropped (and counted).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import tty
from abc import ABC, abstractmethod
from urllib.parse import urlsplit

__all__ = ["PtyTransport", "SocketTransport", "Transport", "TransportClosed", "open_transport"]


class TransportClosed(Exception):
    """The transport itself is gone (not merely a client that hung up)."""


class Transport(ABC):
    """Server side of a byte pipe."""

    #: bytes dropped because the peer's buffer was full or nobody was connected
    dropped_out: int = 0
    #: increments whenever a new peer session starts (a socket client connected)
    sessions: int = 0

    @property
    @abstractmethod
    def url(self) -> str:
        """What the host passes to pyserial."""

    @abstractmethod
    def fileno(self) -> int:
        """File descriptor to select() on for readability."""

    @abstractmethod
    def read(self) -> bytes:
        """Bytes available now (possibly none) after fileno() was readable."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send without blocking; drop what does not fit."""

    @abstractmethod
    def close(self) -> None:
        """Release everything; the host then sees the link as lost."""


class PtyTransport(Transport):
    """A pseudo-terminal: the server keeps the master, the host opens the slave path."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: bytes pass untouched
        os.set_blocking(self._master, False)
        self._path = os.ttyname(self._slave)
        self._closed = False

    @property
    def url(self) -> str:
        return self._path

    def fileno(self) -> int:
        if self._closed:
            raise TransportClosed("pty closed")
        return self._master

    def read(self) -> bytes:
        try:
            return os.read(self._master, 65536)
        except BlockingIOError:
            return b""
        except OSError as exc:  # EIO: no slave side open; nothing to read
            if exc.errno == errno.EIO:
                return b""
            raise TransportClosed(str(exc)) from exc

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
            except BlockingIOError:
                self.dropped_out += len(view)
                return
            except OSError as exc:
                raise TransportClosed(str(exc)) from exc
            view = view[n:]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._master)
            os.close(self._slave)


class SocketTransport(Transport):
    """A TCP listener on a loopback address serving one client at a time."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._listener = socket.create_server((host, port), reuse_port=False)
        self._listener.setblocking(False)
        self._host = host
        self._port = self._listener.getsockname()[1]
        self._conn: socket.socket | None = None
        self._closed = False

    @property
    def url(self) -> str:
        return f"socket://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return int(self._port)

    def fileno(self) -> int:
        if self._closed:
            raise TransportClosed("socket transport closed")
        return (self._conn or self._listener).fileno()

    def read(self) -> bytes:
        if self._conn is None:
            try:
                conn, _ = self._listener.accept()
            except BlockingIOError:
                return b""
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
            self.sessions += 1
            return b""
        try:
            data = self._conn.recv(65536)
        except BlockingIOError:
            return b""
        except OSError:
            data = b""
        if not data:  # the client hung up: wait for the next one
            self._drop_conn()
        return data

    def write(self, data: bytes) -> None:
        if self._conn is None:
            self.dropped_out += len(data)
            return
        try:
            n = self._conn.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            self._drop_conn()
            self.dropped_out += len(data)
            return
        self.dropped_out += len(data) - n

    def _drop_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._drop_conn()
            self._listener.close()


def open_transport(spec: str, allow_non_loopback: bool = False) -> Transport:
    """``"pty"`` or ``"socket://127.0.0.1:PORT"`` (PORT 0 picks a free port).

    Only loopback addresses are accepted unless ``allow_non_loopback``: the virtual
    controller is a development tool and has no authentication.
    """
    if spec == "pty":
        return PtyTransport()
    parts = urlsplit(spec)
    if parts.scheme != "socket" or parts.hostname is None:
        raise ValueError(f"transport must be 'pty' or 'socket://127.0.0.1:PORT', got {spec!r}")
    host = parts.hostname
    port = parts.port or 0
    if not allow_non_loopback:
        addr = "127.0.0.1" if host == "localhost" else host
        try:
            loopback = ipaddress.ip_address(addr).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"refusing to listen on non-loopback address {host!r}")
        host = addr
    return SocketTransport(host, port)
