"""``ServoBus``: a chain of smart servos behind the interface of ``firmware_bridge.bus.MotorBus``.

Contract (what ``deploy/link.py`` relies on, same as ``MotorBus``): ``connect() -> DeviceInfo``,
``read_state()`` / ``send_command(cmd)`` / ``enable()`` / ``disable()`` / ``estop()`` /
``heartbeat()`` -> ``DeviceState`` in joint SI units, ``close() -> bool`` (torque off on every
servo, with retries; never raises), ``.info``, ``.timeout_s``, ``stats()``; errors from
``firmware_bridge.errors``. The vendor enters only through a ``PacketProtocol`` and its
``ServoModel`` tables; units only through ``Calibration``.

Per cycle: ``send_command`` = ONE group write of the goals (Sync Write; no reply) + ONE group
read of position, velocity and current/load (Sync Read: one status per servo).
``read_state`` = the group read alone. Joint command -> goal register by operating mode:
* current mode (torque robots): goal current = the JointCommand law evaluated on the host
  with the latest reading (PD: kp (q*-q) + kd (qd*-qd) + tau; DAMPING: -kd qd; OFF: 0);
* position modes: PD -> goal position q* (the servo's own PD runs with the gains written at
  connect); DAMPING and OFF -> hold the measured position (the gentlest stop a position
  servo has); ``disable()`` then turns torque off.
Goals are clamped to the servo's limits (position limits, current limit) before encoding.

Errors: a servo missing from a group read -> counted (``missing_status``), ``BusTimeout``;
a bad CRC/checksum -> counted by the decoder; a status error byte -> counted
(``status_errors``); a hardware alert -> the servo's hardware-error register is read and a
``DeviceFault`` names the servo and the error bit (torque is turned off first). The bus
watchdog (where the model has one) is armed at connect; the host tracks it too: more than
the interval without a goal write while enabled = tripped, like the servo, and the next
``send_command`` raises ``DeviceFault``; ``enable()`` re-arms it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import serial

from firmware_bridge.errors import BusError, BusTimeout, DeviceFault, ProtocolMismatch
from firmware_bridge.layouts import Mode, Status
from firmware_bridge.messages import CommandArrays, DeviceInfo, DeviceState
from firmware_bridge.ports import open_port
from firmware_bridge.servo import registers
from firmware_bridge.servo.bus_exchange import ServoExchange
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.latency import latency_warning
from firmware_bridge.servo.protocol import PacketProtocol
from firmware_bridge.servo.tables import ServoModel

__all__ = ["ServoBus", "ServoMissing"]

_READ = ("present_position", "present_velocity", "present_current")


class ServoMissing(BusError):
    """A servo ID did not answer a ping (wrong ID, baud rate, power or wiring)."""


class ServoBus(ServoExchange):
    """Servos ``ids`` (one per joint, bus order) on one serial port.

    Args:
        url: pyserial URL of the servo bus adapter (``/dev/ttyUSB0``, a pty, socket://).
        protocol: the vendor codec.
        ids, models: servo ID and model per joint.
        calibration: ticks <-> joint units per joint.
        actuated: per joint; False = a sensed-only servo (torque stays off, position read).
        operating_mode: ``current`` | ``position`` | ``current_position`` | ...
            (a key of the model's ``operating_modes``).
        kp, kd: joint PD gains written to the servos' position loop (position modes).
        baudrate, timeout_s: line rate; how long one exchange waits.
        watchdog_s: bus watchdog interval armed at connect (0 = off).
        disable_retries: torque-off attempts per servo in ``close()``.
    """

    def __init__(self, url: str, protocol: PacketProtocol, ids: Sequence[int],
                 models: Sequence[ServoModel], calibration: Calibration,
                 actuated: Sequence[bool], operating_mode: str,
                 kp: Sequence[float] | None = None, kd: Sequence[float] | None = None,
                 baudrate: int = 1_000_000, timeout_s: float = 0.05,
                 watchdog_s: float = 0.1, disable_retries: int = 3) -> None:
        n = len(ids)
        if not (len(models) == len(actuated) == n == calibration.gear_ratio.shape[0]):
            raise ValueError("ids, models, actuated and calibration must have one entry per joint")
        if len(set(ids)) != n:
            raise ValueError(f"duplicate servo IDs in {list(ids)}")
        for i, m in enumerate(models):
            if actuated[i] and operating_mode not in m.operating_modes:
                raise ValueError(f"servo {ids[i]} ({m.name}) has no {operating_mode} mode; it "
                                 f"offers {', '.join(m.operating_modes)}")
        self.url, self.proto = url, protocol
        self.ids = [int(i) for i in ids]
        self.models = list(models)
        self.cal = calibration
        self.actuated = np.asarray(actuated, dtype=bool)
        self.operating_mode = operating_mode
        self.current_mode = operating_mode == "current"
        self.kp = np.zeros(n) if kp is None else np.asarray(kp, dtype=np.float64)
        self.kd = np.zeros(n) if kd is None else np.asarray(kd, dtype=np.float64)
        self.baudrate, self.timeout_s = baudrate, timeout_s
        self.watchdog_s, self.disable_retries = watchdog_s, disable_retries
        self.motor_count = n
        self.info: DeviceInfo | None = None
        self.warnings: list[str] = []
        """One-line notices from connect() (the USB latency timer) for the caller to show."""
        self.last_state: DeviceState | None = None
        self._port: serial.SerialBase | None = None
        self._dec = protocol.decoder()
        m0 = self.models[0]
        goal_name = "goal_current" if operating_mode == "current" else "goal_position"
        for i, m in enumerate(self.models):
            # one group read / write covers the chain: every servo must place these alike
            if any(m.registers.get(k) != m0.registers[k] for k in (*_READ, goal_name)) \
                    or m.byteorder != m0.byteorder:
                raise ValueError(f"servo {ids[i]} ({m.name}) has another register layout than "
                                 f"servo {ids[0]} ({m0.name}); one bus needs one layout")
        self._block = registers.block(m0, _READ)
        self._regs = {k: m0.registers[k] for k in _READ}
        goal = "goal_current" if self.current_mode else "goal_position"
        self._goal = m0.registers[goal]
        self._act_idx = np.flatnonzero(self.actuated)
        self._enabled = self._estop = self._watchdog = False
        self._fast = False
        self._fault = 0
        self._last_feed = 0.0
        self._t0 = time.monotonic()
        self._q = np.zeros(n)
        self._qd = np.zeros(n)
        self._goal_lo = np.full(n, -math.inf)
        self._goal_hi = np.full(n, math.inf)
        self._lat: list[float] = []
        self.counts = {"exchanges": 0, "group_reads": 0, "group_writes": 0, "timeouts": 0,
                       "missing_status": 0, "status_errors": 0, "hardware_errors": 0,
                       "clamped": 0, "bytes_out": 0}  # fmt: skip

    # --- connection ------------------------------------------------------------------------
    def connect(self) -> DeviceInfo:
        """Ping and check every servo, then configure; nothing is torqued on here."""
        if self._port is None:
            self._port = open_port(self.url, self.baudrate, self.timeout_s)
        warning = latency_warning(self.url)
        self.warnings = [warning] if warning else []
        try:
            self._port.reset_input_buffer()
            self._dec.reset()
            firmware = [self._check_servo(i) for i in range(self.motor_count)]
            for i in range(self.motor_count):
                self._configure(i)
        except BusError:
            self._close_port()
            raise
        # Fast Sync Read: one status for the whole chain (11 bytes of header less per servo)
        self._fast = hasattr(self.proto, "fast_sync_read") and all(
            0 < m.firmware_fast_sync_read <= fw for m, fw in zip(self.models, firmware,
                                                                   strict=True))
        names = sorted({m.name for m in self.models})
        self.info = DeviceInfo(
            protocol_version=0, motor_count=self.motor_count, has_imu=False,
            watchdog_s=self.watchdog_s if self._has_watchdog() else 0.0,
            control_period_s=0.0, spec_hash=bytes(8),
            firmware_id=f"{self.proto.name} {'/'.join(names)} fw {min(firmware)}"[:64])
        self._t0 = time.monotonic()
        return self.info

    def _check_servo(self, i: int) -> int:
        sid, model = self.ids[i], self.models[i]
        try:
            self._transact(self.proto.ping(sid), sid)
        except BusTimeout:
            raise ServoMissing(
                f"servo ID {sid} did not answer a ping at {self.baudrate} baud on {self.url}: "
                "check its ID, the bus baud rate, power and wiring") from None
        number = self._read(i, "model_number")
        if number != model.model_number:
            raise ProtocolMismatch(
                f"servo ID {sid} model number", f"{model.model_number} ({model.name})", number,
                "the spec names another servo model for this joint; fix bus.joints in the "
                "spec or the servo's ID")
        return self._read(i, "firmware")

    def _configure(self, i: int) -> None:
        m = self.models[i]
        self._write(i, "torque_enable", 0)  # EEPROM writes need torque off
        if "return_delay" in m.registers:
            self._write(i, "return_delay", 0)  # default 500 µs per servo adds up per group
        if "status_return_level" in m.registers:
            self._write(i, "status_return_level", m.status_return_all)  # answer everything
        hw = self._read(i, "hardware_error") if "hardware_error" in m.registers else 0
        if hw:
            self._fault = hw
        if not self.actuated[i]:
            return
        if "operating_mode" in m.registers:  # a model without it has its one mode (SCS)
            self._write(i, "operating_mode", m.operating_modes[self.operating_mode])
        if not self.current_mode:
            for gain, power, value in (("pos_p", 2, self.kp[i]), ("pos_d", 2, self.kd[i])):
                if gain in m.gains and m.gain_units.get(gain):
                    servo = float(self.cal.gain_to_servo(np.array([value]), power)[0])
                    self._write(i, gain, round(servo / m.gain_units[gain]))
            if "pos_i" in m.gains:
                self._write(i, "pos_i", 0)
            lo, hi = self._read(i, "min_position"), self._read(i, "max_position")
            if self.operating_mode != "position":
                lo, hi = m.multi_turn_range
        else:
            limit = self._read(i, "current_limit")
            lo, hi = -limit, limit
        self._goal_lo[i], self._goal_hi[i] = lo, hi
        if self._has_watchdog(i):
            self._arm_watchdog(i)

    def _has_watchdog(self, i: int = 0) -> bool:
        return self.watchdog_s > 0 and self.models[i].watchdog_unit_s is not None

    def _arm_watchdog(self, i: int) -> None:
        unit = self.models[i].watchdog_unit_s or 1.0
        self._write(i, "watchdog", 0)  # 0 first: clears a tripped watchdog
        self._write(i, "watchdog", max(1, min(127, math.ceil(self.watchdog_s / unit))))

    def close(self) -> bool:
        """Torque off on every servo (each write confirmed, with retries); close the port.
        True when every servo confirmed. Never raises."""
        confirmed = self.is_open
        if self.is_open:
            for i in range(self.motor_count):
                ok = False
                for _ in range(max(1, self.disable_retries)):
                    try:
                        self._write(i, "torque_enable", 0)
                        ok = True
                        break
                    except BusError:
                        continue
                confirmed = confirmed and ok
        self._enabled = False
        self._close_port()
        return confirmed

    # --- one verb per request --------------------------------------------------------------
    def read_state(self) -> DeviceState:
        return self._group_read()

    def send_command(self, cmd: CommandArrays) -> DeviceState:
        """ONE group write of the goals, then ONE group read. ``DeviceFault`` when not enabled."""
        self._watch(time.monotonic())
        if not self._enabled:
            state = self._group_read()
            raise DeviceFault(f"command rejected: {self._why_disabled()}; call enable()", state)
        goals = self._goals(cmd)
        size = self._goal.size
        m = self.models[0]
        self._send(self.proto.sync_write(self._goal.address, size, (
            (self.ids[i], registers.encode(m, self._goal, int(goals[i]))) for i in self._act_idx)))
        self.counts["group_writes"] += 1
        self._last_feed = time.monotonic()
        return self._group_read()

    def enable(self) -> DeviceState:
        """Goals set to hold (current 0 / present position), watchdog re-armed, torque on."""
        if self._fault:
            state = self._group_read()
            raise DeviceFault(f"device did not enable: {self._why_disabled()}", state)
        self._group_read()
        hold = np.zeros(self.motor_count, dtype=np.int64) if self.current_mode else \
            self.cal.ticks_from_q(self._q)
        for i in self._act_idx:
            if self._has_watchdog(int(i)):
                self._arm_watchdog(int(i))
            self._write(int(i), self._goal_name(), int(np.clip(hold[i], self._goal_lo[i],
                                                                self._goal_hi[i])))
        self._sync_write_all("torque_enable", 1)
        self._enabled, self._estop, self._watchdog = True, False, False
        self._last_feed = time.monotonic()
        return self._group_read()

    def disable(self) -> DeviceState:
        """Torque off on every servo (one group write; ``close()`` confirms per servo)."""
        self._sync_write_all("torque_enable", 0)
        self._enabled = False
        return self._group_read()

    def estop(self) -> DeviceState:
        state = self.disable()
        self._estop = True
        state.flags |= Status.ESTOP
        return state

    def heartbeat(self) -> DeviceState:
        """Any instruction feeds a servo's bus watchdog: a group read does."""
        state = self._group_read()
        if self._enabled:
            self._last_feed = time.monotonic()
        return state

    def stats(self) -> dict[str, float]:
        out: dict[str, float] = dict(self.counts)
        d = self._dec.stats  # type: ignore[attr-defined]
        out.update(crc_errors=d.crc_errors, frames_bad=d.frames_bad, frames_good=d.packets,
                   bytes_in=d.bytes_in, resyncs=d.resyncs)
        if self._lat:
            lat = np.asarray(self._lat[-4096:])
            p50, p90, p99 = np.percentile(lat, [50, 90, 99])
            out.update(latency_n=lat.size, latency_p50_s=float(p50), latency_p90_s=float(p90),
                       latency_p99_s=float(p99), latency_max_s=float(lat.max()),
                       latency_mean_s=float(lat.mean()))
        return out

    # --- the cycle's pieces ----------------------------------------------------------------
    def _goal_name(self) -> str:
        return "goal_current" if self.current_mode else "goal_position"

    def _goals(self, cmd: CommandArrays) -> np.ndarray:
        q, qd = self._q, self._qd
        if self.current_mode:
            pd = cmd.kp * (cmd.q - q) + cmd.kd * (cmd.qd - qd) + cmd.tau
            tau = np.where(cmd.mode == Mode.PD, pd,
                           np.where(cmd.mode == Mode.DAMPING, -cmd.kd * qd, 0.0))
            ticks = self.cal.ticks_from_tau(tau)
        else:
            target = np.where(cmd.mode == Mode.PD, cmd.q, q)
            ticks = self.cal.ticks_from_q(target)
        clipped = np.minimum(np.maximum(ticks, self._goal_lo), self._goal_hi)
        if (clipped[self._act_idx] != ticks[self._act_idx]).any():
            self.counts["clamped"] += 1
        return clipped

    def _watch(self, now: float) -> None:
        if (self._enabled and self._has_watchdog()
                and now - self._last_feed > self.watchdog_s):
            self._enabled, self._watchdog = False, True

    def _why_disabled(self) -> str:
        if self._fault:
            return f"hardware error {self._fault:#04x} latched: power-cycle or reboot the servo"
        if self._estop:
            return "e-stop is latched"
        if self._watchdog:
            return "the bus watchdog tripped (goal writes stopped arriving in time)"
        return "torque is not enabled"

    def _group_read(self) -> DeviceState:
        start, size = self._block
        t0 = time.perf_counter()
        replies = self._fast_read(start, size) if self._fast else \
            self._exchange(self.proto.sync_read(self.ids, start, size), self.ids)
        self._lat.append(time.perf_counter() - t0)
        self.counts["group_reads"] += 1
        n = self.motor_count
        raw = {k: np.zeros(n, dtype=np.int64) for k in _READ}
        for i, sid in enumerate(self.ids):
            p = replies[sid]
            if len(p.params) < size:
                raise BusError(f"servo ID {sid}: group read returned {len(p.params)} of "
                               f"{size} bytes")
            m = self.models[i]
            for k, reg in self._regs.items():
                off = reg.address - start
                raw[k][i] = registers.decode(m, reg, p.params[off:off + reg.size])
        self._q = self.cal.q_from_ticks(raw["present_position"])
        self._qd = self.cal.qd_from_ticks(raw["present_velocity"])
        tau = self.cal.tau_from_ticks(raw["present_current"])
        state = DeviceState(t=time.monotonic() - self._t0, q=self._q, qd=self._qd, tau=tau,
                            flags=self._flags(), fault_code=self._fault)
        self.last_state = state
        return state

