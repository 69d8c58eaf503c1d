"""``ServoChain``: Dynamixel X-series servos emulated over a ``Plant`` (the ``serve`` side).

Contract with ``firmware_bridge.server.DeviceServer`` (the same duck type as ``Device``):
``handle(packet, now, step_on_command) -> bytes`` (b"" = no reply, e.g. Sync Write or a
broadcast), ``poll(now)`` (the bus watchdog), ``step_plant()``, ``plant``, ``enabled``
(any servo torqued: releases ``hold_until_enable``), ``steps_taken`` (lock-step counter), and
``decoder()`` for the server's packet decoder. Each servo keeps its control table in memory
(real addresses and sizes, ``tables_dynamixel``), answers Ping, Read, Write, Reg Write, Action,
Reboot, Sync Read, Sync Write, Fast Sync Read, Bulk Read and Bulk Write with status packets and
the error byte, and drives its joint of the plant:
* torque off -> the joint is free (Mode.OFF); current mode -> goal current as joint effort;
  position modes -> PD to the goal position with the gains in the table;
* bus watchdog (98): no instruction within value × 20 ms while torque is on -> the servo stops
  (holds: zero current / the present position), 98 reads -1, goal writes answer a data range
  error until 98 is written again;
* ``inject_hardware_error(id, bit)``: the bit in register 70, torque off, the hardware-alert
  bit in every status, until Reboot; ``fault_after_steps`` = (steps, id, bit) does it after
  that many plant steps with torque on (``serve --servo-fault-after``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from firmware_bridge.layouts import Mode
from firmware_bridge.messages import JointCommand
from firmware_bridge.plant import Plant
from firmware_bridge.servo import registers
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.dynamixel import (
    BROADCAST_ID,
    HARDWARE_ALERT,
    DynamixelDecoder,
    Inst,
    Packet,
    crc16,
    encode_status,
)
from firmware_bridge.servo.tables import ServoModel

__all__ = ["ServoChain"]

_TABLE_SIZE = 256
_ERR_INST, _ERR_RANGE, _ERR_LENGTH, _ERR_ACCESS = 2, 4, 5, 7
_WRITE_INSTS = (Inst.WRITE, Inst.REG_WRITE, Inst.SYNC_WRITE, Inst.BULK_WRITE)


class _Servo:
    def __init__(self, sid: int, model: ServoModel, firmware: int) -> None:
        self.id, self.model = sid, model
        self.table = bytearray(_TABLE_SIZE)
        self.pending: tuple[int, bytes] | None = None  # Reg Write, applied by Action
        self.watchdog_tripped = False
        self.hw_alert = False
        self.set("model_number", model.model_number)
        self.set("firmware", firmware)
        self.set("id", sid)
        self.set("baud", 3)
        self.set("return_delay", 250)
        self.set("operating_mode", model.operating_modes.get("position", 3))
        lo, hi = model.position_range
        self.set("min_position", lo)
        self.set("max_position", hi)
        self.set("current_limit", 1193)
        self.set("status_return_level", 2)
        self.set("pos_p", 800)

    def reg(self, name: str) -> tuple[int, int]:
        r = self.model.registers[name]
        return r.address, r.size

    def get(self, name: str) -> int:
        r = self.model.registers[name]
        return registers.decode(self.model, r, bytes(self.table[r.address:r.address + r.size]))

    def set(self, name: str, value: int) -> None:
        r = self.model.registers[name]
        self.table[r.address:r.address + r.size] = registers.encode(self.model, r, value)

    @property
    def torque(self) -> bool:
        return bool(self.get("torque_enable"))

    def error_byte(self, err: int = 0) -> int:
        return err | (HARDWARE_ALERT if self.hw_alert else 0)

    def write(self, address: int, data: bytes) -> int:
        """Apply a write; returns the status error number (0 = done)."""
        if address + len(data) > _TABLE_SIZE:
            return _ERR_ACCESS
        regs = self.model.registers
        touched = [n for n, r in regs.items()
                   if r.address < address + len(data) and address < r.address + r.size]
        if any(regs[n].eeprom for n in touched) and self.torque:
            return _ERR_ACCESS  # EEPROM is locked while torque is on, as on the servo
        if self.hw_alert and "torque_enable" in touched and data[0]:
            return _ERR_ACCESS  # only a reboot clears a hardware error
        goals = {"goal_current", "goal_position", "goal_velocity", "goal_pwm"}
        if self.watchdog_tripped and goals & set(touched):
            return _ERR_RANGE
        self.table[address:address + len(data)] = data
        if "watchdog" in touched:
            self.watchdog_tripped = False
        return 0


class ServoChain:
    """Dynamixel servos ``ids`` (models, calibration per joint) on ``plant``'s joints."""

    servo_class: type[_Servo] = _Servo
    """One servo's table and power-up values; a vendor subclass (chain_feetech) swaps it."""

    def __init__(self, plant: Plant, ids: Sequence[int], models: Sequence[ServoModel],
                 calibration: Calibration, actuated: Sequence[bool], firmware: int = 52) -> None:
        if len(ids) != plant.motor_count:
            raise ValueError(f"{len(ids)} servo IDs for a plant of {plant.motor_count} joints")
        self.plant = plant
        self.cal = calibration
        self.actuated = np.asarray(actuated, dtype=bool)
        self.servos = [self.servo_class(int(i), m, firmware)
                       for i, m in zip(ids, models, strict=True)]
        self.by_id = {s.id: s for s in self.servos}
        self.last_instruction = 0.0
        self.steps_taken = 0
        self.torqued_steps = 0
        self.fault_after_steps: tuple[int, int, int] | None = None
        self._cmd = JointCommand.zeros(plant.motor_count)
        regs = self.servos[0].model.registers
        self._goal_addresses = {regs[n].address for n in ("goal_current", "goal_position",
                                                          "goal_velocity", "goal_pwm")
                                if n in regs}
        self._sense()

    # --- the DeviceServer contract ---------------------------------------------------------
    @staticmethod
    def decoder() -> DynamixelDecoder:
        return DynamixelDecoder()

    @property
    def enabled(self) -> bool:
        return any(s.torque for s in self.servos)

    def poll(self, now: float) -> bool:
        tripped = False
        for s in self.servos:
            wd = s.get("watchdog")
            unit = s.model.watchdog_unit_s
            if (wd > 0 and unit and s.torque and not s.watchdog_tripped
                    and now - self.last_instruction > wd * unit):
                s.watchdog_tripped = tripped = True
                s.set("watchdog", -1)
                self._stop(s)
        return tripped

    def step_plant(self) -> None:
        self.plant.step(self._command())
        self._sense()
        self.steps_taken += 1
        if self.enabled:
            self.torqued_steps += 1
            f = self.fault_after_steps
            if f is not None and self.torqued_steps >= f[0]:
                self.fault_after_steps = None
                self.inject_hardware_error(f[1], f[2])

    def handle(self, p: Packet, now: float, step_on_command: bool = False) -> bytes:
        if p.error is not None:
            return b""  # a status packet on the bus is not addressed to us
        self.poll(now)
        self.last_instruction = now
        inst = p.inst
        if inst == Inst.SYNC_WRITE:
            self._sync_write(p.params)
            # lock-step: one period per group write of goals (the host's command), not per
            # torque on/off or configuration write
            if step_on_command and len(p.params) >= 2 and \
                    (p.params[0] | p.params[1] << 8) in self._goal_addresses:
                self.step_plant()
            return b""
        if inst == Inst.BULK_WRITE:
            self._bulk_write(p.params)
            if step_on_command:
                self.step_plant()
            return b""
        if inst in (Inst.SYNC_READ, Inst.FAST_SYNC_READ):
            return self._sync_read(p.params, fast=inst == Inst.FAST_SYNC_READ)
        if inst == Inst.BULK_READ:
            return self._bulk_read(p.params)
        if p.id == BROADCAST_ID:
            if inst == Inst.PING:
                return b"".join(self._ping(s) for s in self.servos)
            if inst == Inst.ACTION:
                for s in self.servos:
                    self._action(s)
            return b""
        target = self.by_id.get(p.id)
        if target is None:
            return b""  # nobody with this ID: silence, as on a real bus
        return self._single(target, p)

    # --- instructions ----------------------------------------------------------------------
    def _status(self, s: _Servo, err: int = 0, params: bytes = b"") -> bytes:
        return encode_status(s.id, s.error_byte(err), params)

    def _ping(self, s: _Servo) -> bytes:
        n = s.model.model_number
        return self._status(s, 0, bytes((n & 0xFF, n >> 8, s.get("firmware"))))

    def _single(self, s: _Servo, p: Packet) -> bytes:
        inst, prm = p.inst, p.params
        level = s.get("status_return_level")
        if inst == Inst.PING:
            return self._ping(s)
        if inst == Inst.READ:
            if len(prm) != 4:
                return self._status(s, _ERR_LENGTH)
            addr, size = prm[0] | prm[1] << 8, prm[2] | prm[3] << 8
            if addr + size > _TABLE_SIZE:
                return self._status(s, _ERR_ACCESS)
            return self._status(s, 0, bytes(s.table[addr:addr + size])) if level >= 1 else b""
        if inst in (Inst.WRITE, Inst.REG_WRITE):
            if len(prm) < 3:
                return self._status(s, _ERR_LENGTH)
            addr = prm[0] | prm[1] << 8
            if inst == Inst.REG_WRITE:
                s.pending = (addr, bytes(prm[2:]))
                err = 0
            else:
                err = s.write(addr, bytes(prm[2:]))
            return self._status(s, err) if level >= 2 else b""
        if inst == Inst.ACTION:
            self._action(s)
            return self._status(s) if level >= 2 else b""
        if inst == Inst.REBOOT:
            s.hw_alert = s.watchdog_tripped = False
            s.set("hardware_error", 0)
            s.set("torque_enable", 0)
            s.set("watchdog", 0)
            return self._status(s)
        return self._status(s, _ERR_INST)

    def _action(self, s: _Servo) -> None:
        if s.pending is not None:
            s.write(*s.pending)
            s.pending = None

    def _sync_write(self, prm: bytes) -> None:
        if len(prm) < 4:
            return
        addr, size = prm[0] | prm[1] << 8, prm[2] | prm[3] << 8
        rec = prm[4:]
        for k in range(0, len(rec) - size, size + 1):
            s = self.by_id.get(rec[k])
            if s is not None:
                s.write(addr, bytes(rec[k + 1:k + 1 + size]))

    def _bulk_write(self, prm: bytes) -> None:
        k = 0
        while k + 5 <= len(prm):
            sid, addr, size = prm[k], prm[k + 1] | prm[k + 2] << 8, prm[k + 3] | prm[k + 4] << 8
            s = self.by_id.get(sid)
            if s is not None:
                s.write(addr, bytes(prm[k + 5:k + 5 + size]))
            k += 5 + size

    def _sync_read(self, prm: bytes, fast: bool) -> bytes:
        if len(prm) < 5:
            return b""
        addr, size = prm[0] | prm[1] << 8, prm[2] | prm[3] << 8
        servos = [self.by_id[i] for i in prm[4:] if i in self.by_id]
        if not fast:
            return b"".join(self._status(s, 0, bytes(s.table[addr:addr + size]))
                            for s in servos)
        # Fast Sync Read (e-manual): one status from ID 0xFE: ERR1 ID1 DATA1 CRC1 ERR2 ID2 ...
        # the first error byte sits in the status's own error position, the last servo's
        # CRC is the packet's.
        if not servos:
            return b""
        body = bytearray()
        for k, s in enumerate(servos):
            chunk = bytes((s.id,)) + bytes(s.table[addr:addr + size])
            if k:
                body.append(s.error_byte())
            body += chunk
            if k < len(servos) - 1:
                c = crc16(chunk)
                body += bytes((c & 0xFF, c >> 8))
        return encode_status(BROADCAST_ID, servos[0].error_byte(), bytes(body))

    def _bulk_read(self, prm: bytes) -> bytes:
        out = []
        for k in range(0, len(prm) - 4, 5):
            sid, addr, size = prm[k], prm[k + 1] | prm[k + 2] << 8, prm[k + 3] | prm[k + 4] << 8
            s = self.by_id.get(sid)
            if s is not None:
                out.append(self._status(s, 0, bytes(s.table[addr:addr + size])))
        return b"".join(out)

    # --- faults ----------------------------------------------------------------------------
    def inject_hardware_error(self, servo_id: int, bit: int) -> None:
        """Latch hardware error ``bit`` (register 70) on a servo: torque off until Reboot."""
        s = self.by_id[servo_id]
        s.set("hardware_error", s.get("hardware_error") | (1 << bit))
        s.hw_alert = True
        s.set("torque_enable", 0)
        self._stop(s)

    # --- plant coupling --------------------------------------------------------------------
    def _stop(self, s: _Servo) -> None:
        """Goal = hold: zero current, or the present position."""
        s.set("goal_current", 0)
        s.set("goal_position", s.get("present_position"))

    def _command(self) -> JointCommand:
        c = self._cmd
        cal = self.cal
        for i, s in enumerate(self.servos):
            c.kp[i] = c.kd[i] = c.tau[i] = c.qd[i] = 0.0
            c.q[i] = 0.0
            if not (self.actuated[i] and s.torque):
                c.mode[i] = Mode.OFF
                continue
            c.mode[i] = Mode.PD
            # a model without the register (SCS) has one mode, position
            mode = s.get("operating_mode") if "operating_mode" in s.model.registers else None
            if mode is not None and mode == s.model.operating_modes.get("current"):
                c.tau[i] = self._tau(i, s.get("goal_current"))
            else:
                g2 = cal.gear_ratio[i] ** 2
                c.q[i] = self._q(i, s.get("goal_position"))
                c.kp[i] = s.get("pos_p") * s.model.gain_units.get("pos_p", 0.0) * g2
                c.kd[i] = s.get("pos_d") * s.model.gain_units.get("pos_d", 0.0) * g2
        return c

    def _tau(self, i: int, ticks: int) -> float:
        cal = self.cal
        return float(cal.direction[i] * cal.gear_ratio[i] * ticks * cal.effort_per_tick[i])

    def _q(self, i: int, ticks: int) -> float:
        cal = self.cal
        a = (ticks - cal.center[i]) * cal.rad_per_tick[i]
        return float(cal.direction[i] * (a - cal.zero_offset[i]) / cal.gear_ratio[i])

    def _sense(self) -> None:
        r = self.plant.read()
        pos = self.cal.ticks_from_q(r.q)
        vel = self.cal.ticks_from_qd(r.qd)
        cur = self.cal.ticks_from_tau(r.tau)
        for i, s in enumerate(self.servos):
            s.set("present_position", int(pos[i]))
            s.set("present_velocity", int(vel[i]))
            s.set("present_current", int(cur[i]))
