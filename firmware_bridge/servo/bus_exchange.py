"""``ServoExchange``: the byte and register level under ``ServoBus`` (firmware_bridge/servo/bus.py).

One instruction out, the statuses it asks for back (``_exchange``), one register read or
written per servo, a Sync Write to every actuated servo, the Fast Sync Read, and what a status
error byte means: counted; a hardware alert -> the servo's hardware-error register is read,
torque turned off and ``DeviceFault`` raised; a range error while enabled -> the tripped
watchdog. ``ServoBus`` owns the state these read and set (declared below) and the cycle.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import serial

from firmware_bridge.errors import BusError, BusTimeout, DeviceFault, LinkLost
from firmware_bridge.layouts import Status
from firmware_bridge.messages import DeviceState
from firmware_bridge.ports import PortOwner
from firmware_bridge.servo import registers
from firmware_bridge.servo.protocol import PacketDecoder, PacketProtocol, StatusLike
from firmware_bridge.servo.tables import ServoModel

__all__ = ["ServoExchange"]


class ServoExchange(PortOwner):
    """Exchanges on a servo bus's port; ``ServoBus`` sets every attribute declared here."""

    proto: PacketProtocol
    ids: list[int]
    models: list[ServoModel]
    motor_count: int
    timeout_s: float
    counts: dict[str, int]
    _dec: PacketDecoder
    _act_idx: np.ndarray
    _enabled: bool
    _estop: bool
    _watchdog: bool
    _fault: int
    _t0: float
    _q: np.ndarray
    _qd: np.ndarray

    def _flags(self) -> Status:
        f = Status.HANDSHAKE
        if self._enabled:
            f |= Status.ENABLED
        if self._watchdog:
            f |= Status.WATCHDOG
        if self._estop:
            f |= Status.ESTOP
        if self._fault:
            f |= Status.FAULT
        return f

    def _fast_read(self, start: int, size: int) -> dict[int, StatusLike]:
        proto: Any = self.proto
        bcast = self.proto.broadcast_id
        packet = self._exchange(proto.fast_sync_read(self.ids, start, size), [bcast],
                                check=False)[bcast]
        try:
            parts: dict[int, StatusLike] = proto.split_fast_status(packet, size)
        except ValueError as exc:
            raise BusError(f"{self.url}: {exc}") from None
        missing = [i for i in self.ids if i not in parts]
        if missing:
            self.counts["missing_status"] += len(missing)
            raise BusError(f"servo ID {', '.join(map(str, missing))} missing from the fast "
                           "sync read status")
        alert: list[int] = []
        for sid in self.ids:
            if parts[sid].error:
                self._status_error(sid, parts[sid].error or 0, alert)
        if alert:
            self._hardware_fault(alert[0])
        return parts

    def _sync_write_all(self, name: str, value: int) -> None:
        m = self.models[0]
        reg = m.registers[name]
        self._send(self.proto.sync_write(reg.address, reg.size, (
            (self.ids[i], registers.encode(m, reg, value)) for i in self._act_idx)))

    def _read(self, i: int, name: str) -> int:
        m = self.models[i]
        reg = m.registers[name]
        p = self._transact(self.proto.read(self.ids[i], reg.address, reg.size), self.ids[i])
        return registers.decode(m, reg, p.params)

    def _write(self, i: int, name: str, value: int) -> None:
        m = self.models[i]
        reg = m.registers[name]
        self._transact(self.proto.write(self.ids[i], reg.address,
                                        registers.encode(m, reg, value)), self.ids[i])

    def _send(self, wire: bytes) -> None:
        port = self._require_port()
        try:
            port.write(wire)
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"link to {self.url} lost while writing: {exc}") from exc
        self.counts["bytes_out"] += len(wire)

    def _transact(self, wire: bytes, sid: int) -> StatusLike:
        return self._exchange(wire, [sid])[sid]

    def _exchange(self, wire: bytes, ids: Sequence[int], alerts: bool = True,
                  check: bool = True) -> dict[int, StatusLike]:
        """Send one instruction, collect one status from each of ``ids``; ``alerts`` False
        while reading the hardware-error register itself (the alert bit is still set);
        ``check`` False leaves the error bytes to the caller (a fast sync read's status
        carries one per servo)."""
        port = self._require_port()
        self._send(wire)
        self.counts["exchanges"] += 1
        want = set(ids)
        got: dict[int, StatusLike] = {}
        deadline = time.perf_counter() + self.timeout_s
        alert: list[int] = []
        while want - got.keys():
            if time.perf_counter() >= deadline:
                missing = sorted(want - got.keys())
                self.counts["timeouts"] += 1
                self.counts["missing_status"] += len(missing)
                raise BusTimeout(f"no status from servo ID {', '.join(map(str, missing))} on "
                                 f"{self.url} within {self.timeout_s * 1000:.0f} ms")
            try:
                data = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise LinkLost(f"link to {self.url} lost: {exc}") from exc
            for p in self._dec.feed(data) if data else ():
                if p.error is None or p.id not in want:
                    continue  # our own echo on a half-duplex adapter, or a late answer
                if p.error and check:
                    self._status_error(p.id, p.error, alert)
                got[p.id] = p
        if alert and alerts:
            self._hardware_fault(alert[0])
        return got

    def _status_error(self, sid: int, error: int, alert: list[int]) -> None:
        """Count a status error byte; a hardware alert is noted in ``alert`` (handled once
        the exchange is complete), a range error while enabled is the tripped watchdog."""
        self.counts["status_errors"] += 1
        if self.proto.hardware_alert(error):
            alert.append(sid)
        elif self.proto.range_error(error) and self._enabled:
            self._enabled, self._watchdog = False, True
        elif error & 0x7F:
            raise BusError(f"servo ID {sid}: {self.proto.describe_error(error)}")

    def _hardware_fault(self, sid: int) -> None:
        self.counts["hardware_errors"] += 1
        i = self.ids.index(sid)
        m = self.models[i]
        self._enabled = False
        bits = 0
        with contextlib.suppress(BusError):
            reg = m.registers["hardware_error"]
            p = self._exchange(self.proto.read(sid, reg.address, reg.size), [sid], False)
            bits = registers.decode(m, reg, p[sid].params)
        self._fault = bits or 0x80
        what = ", ".join(f"bit {b} {name}" for b, name in sorted(m.hardware_error_bits.items())
                         if bits >> b & 1) or "hardware alert"
        with contextlib.suppress(BusError):
            self._sync_write_all("torque_enable", 0)
            # a Sync Write has no reply: one round trip after it proves the chain has taken
            # it (a bus is served in order) before the fault goes up to the runtime
            self._exchange(self.proto.ping(sid), [sid], alerts=False, check=False)
        raise DeviceFault(f"servo ID {sid} ({m.name}) reports a hardware error: {what}; it "
                          "turned its torque off (power-cycle or reboot it to clear)",
                          DeviceState(time.monotonic() - self._t0, self._q, self._qd,
                                      np.zeros(self.motor_count), self._flags(), bits))
