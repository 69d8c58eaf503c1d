"""``FeetechChain``: Feetech STS/SCS servos emulated over a ``Plant`` (the ``serve`` side).

The generic part is ``firmware_bridge.servo.chain.ServoChain``: control tables in memory, the
plant coupling (goal position -> PD with the table's gains, present values from the plant),
hardware-error injection, the ``DeviceServer`` contract. This subclass replaces only the wire:
Feetech packets (``feetech.py``), one-byte addresses and lengths, and how a Feetech servo
answers:
* Ping -> a status with no data; Read -> the bytes; Write / Reg Write / Action -> a status
  when Response_Status_Level (8) is non-zero (0: only Ping and Read answer); Sync Read -> one
  status per listed servo, in the order asked; Sync Write and any broadcast -> silence;
* the error byte is the servo's hardware-error bits (Status, 65): Feetech has no command
  errors, so a write the servo refuses (EEPROM while torqued, torque on after a hardware
  error) is silently not applied;
* no bus watchdog (the model has none) and no Reboot: a hardware error clears on power-up
  only, i.e. a new emulator.
"""

from __future__ import annotations

from collections.abc import Sequence

from firmware_bridge.plant import Plant
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.chain import ServoChain, _Servo
from firmware_bridge.servo.feetech import (
    BROADCAST_ID,
    FeetechDecoder,
    Inst,
    Packet,
    encode_status,
)
from firmware_bridge.servo.tables import ServoModel

__all__ = ["FeetechChain"]

_FACTORY = {"baud": 0, "return_delay": 250, "status_return_level": 1, "pos_p": 32,
            "pos_d": 32, "pos_i": 0, "max_torque": 1000, "torque_limit": 1000, "lock": 1,
            "present_voltage": 120, "present_temperature": 30}
"""Power-up values of an STS3215 (Feetech's memory table): 1 Mbaud, 500 µs return delay,
P 32 / D 32, full torque, EEPROM locked, 12.0 V, 30 °C. Registers a model lacks are skipped."""


class _FeetechServo(_Servo):
    def __init__(self, sid: int, model: ServoModel, firmware: int) -> None:
        # not super().__init__: that one writes Dynamixel's registers and power-up values
        self.id, self.model = sid, model
        self.table = bytearray(256)
        self.pending: tuple[int, bytes] | None = None
        self.watchdog_tripped = False
        self.hw_alert = False
        self.set("model_number", model.model_number)
        self.set("firmware", firmware)
        self.set("id", sid)
        lo, hi = model.position_range
        self.set("min_position", lo)
        self.set("max_position", hi)
        if "operating_mode" in model.registers:
            self.set("operating_mode", model.operating_modes["position"])
        for name, value in _FACTORY.items():
            if name in model.registers:
                self.set(name, value)

    def error_byte(self, err: int = 0) -> int:
        return self.get("hardware_error") if self.hw_alert else 0


class FeetechChain(ServoChain):
    """Feetech servos ``ids`` (models, calibration per joint) on ``plant``'s joints."""

    servo_class = _FeetechServo

    def __init__(self, plant: Plant, ids: Sequence[int], models: Sequence[ServoModel],
                 calibration: Calibration, actuated: Sequence[bool], firmware: int = 3) -> None:
        super().__init__(plant, ids, models, calibration, actuated, firmware)
        for s in self.servos:  # a servo powers up holding mid-range
            lo, hi = s.model.position_range
            s.set("goal_position", (lo + hi + 1) // 2)

    @staticmethod
    def decoder() -> FeetechDecoder:  # type: ignore[override]
        return FeetechDecoder(status=False)

    def poll(self, now: float) -> bool:
        return False  # no bus watchdog on Feetech servos

    def handle(self, p: Packet, now: float,  # type: ignore[override]
               step_on_command: bool = False) -> bytes:
        if p.error is not None:
            return b""
        self.last_instruction = now
        inst, prm = p.inst, p.params
        if inst == Inst.SYNC_WRITE:
            self._sync_write(prm)
            # lock-step: one period per group write of goals, not per torque on/off
            if step_on_command and prm and prm[0] in self._goal_addresses:
                self.step_plant()
            return b""
        if inst == Inst.SYNC_READ:
            return self._sync_read(prm, fast=False)
        if p.id == BROADCAST_ID:
            if inst == Inst.ACTION:
                for s in self.servos:
                    self._action(s)
            elif inst == Inst.WRITE and len(prm) >= 2:
                for s in self.servos:
                    s.write(prm[0], bytes(prm[1:]))
            elif inst == Inst.PING:
                return b"".join(self._status(s) for s in self.servos)
            return b""
        target = self.by_id.get(p.id)
        if target is None:
            return b""
        return self._single(target, p)

    def _status(self, s: _Servo, err: int = 0, params: bytes = b"") -> bytes:
        return encode_status(s.id, s.error_byte(err), params)

    def _single(self, s: _Servo, p: Packet) -> bytes:  # type: ignore[override]
        inst, prm = p.inst, p.params
        answers = s.get("status_return_level") != 0
        if inst == Inst.PING:
            return self._status(s)
        if inst == Inst.READ:
            if len(prm) != 2 or prm[0] + prm[1] > len(s.table):
                return b""  # a malformed read gets no answer from a Feetech servo
            return self._status(s, 0, bytes(s.table[prm[0]:prm[0] + prm[1]]))
        if inst in (Inst.WRITE, Inst.REG_WRITE) and len(prm) >= 2:
            if inst == Inst.REG_WRITE:
                s.pending = (prm[0], bytes(prm[1:]))
            else:
                s.write(prm[0], bytes(prm[1:]))
            return self._status(s) if answers else b""
        if inst == Inst.ACTION:
            self._action(s)
            return self._status(s) if answers else b""
        return b""

    def _sync_write(self, prm: bytes) -> None:
        if len(prm) < 2:
            return
        addr, size = prm[0], prm[1]
        rec = prm[2:]
        for k in range(0, len(rec) - size, size + 1):
            s = self.by_id.get(rec[k])
            if s is not None:
                s.write(addr, bytes(rec[k + 1:k + 1 + size]))

    def _sync_read(self, prm: bytes, fast: bool = False) -> bytes:
        if len(prm) < 3:
            return b""
        addr, size = prm[0], prm[1]
        servos = [self.by_id[i] for i in prm[2:] if i in self.by_id]
        return b"".join(self._status(s, 0, bytes(s.table[addr:addr + size])) for s in servos)

    def _stop(self, s: _Servo) -> None:
        s.set("goal_position", s.get("present_position"))
