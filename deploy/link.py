"""The runtime's side of the motor bus: connect with clear errors, convert records, keep
pre-allocated buffers, and decide when the link counts as lost.

`wire_spec_hash(spec)` = the first 8 bytes of the spec's sha256: what the controller
reports in its HELLO_REPLY (the virtual controller is configured the same way).
Link loss: no valid state (a reply with finite numbers) for `link_timeout_s`, or the port
itself going away (LinkLost). A single late reply is only counted.

The bus: `MotorBus` (protocol robot_ppo) or a smart-servo `ServoBus` (dynamixel, feetech),
chosen by `protocol` (the --protocol option) or else the spec's `bus.protocol`.
`servo_setup(spec, protocol)` turns the spec into the plain numbers firmware_bridge takes
(ids, models, calibration, operating mode) and refuses, before any port opens, an unknown
model (listing the known ones), an action mode the model lacks, and a calibration that maps
a joint limit outside the servo's range. `robot-ppo serve` builds its emulator from the same
setup, so both ends agree on units.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from firmware_bridge.bus import MotorBus
from firmware_bridge.errors import (
    BusError,
    BusTimeout,
    DeviceFault,
    LinkLost,
    PortNotFound,
    PortPermissionDenied,
    ProtocolMismatch,
)
from firmware_bridge.messages import DeviceState
from firmware_bridge.servo.bus import ServoBus, ServoMissing
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.models import UnknownModel, packet_protocol, resolve_models
from firmware_bridge.servo.tables import ServoModel
from robot_ppo.action import JointCommand
from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec
from robot_ppo.spec_bus import bus_spec
from robot_ppo.state import RobotState

__all__ = ["BusError", "DeviceFault", "Link", "LinkLost", "ServoSetup", "bus_protocol",
           "servo_setup", "wire_spec_hash"]

DEFAULT_BAUDRATE = 1_000_000  # RunConfig.baudrate's default: then the spec's bus.baudrate


def wire_spec_hash(spec: RobotSpec) -> bytes:
    return bytes.fromhex(spec.spec_hash)[:8]


def bus_protocol(spec: RobotSpec, protocol: str = "") -> str:
    """--protocol if given, else the spec's bus.protocol (robot_ppo without a bus section)."""
    return protocol or bus_spec(spec).protocol


@dataclass
class ServoSetup:
    """A spec's servo chain as firmware_bridge takes it: plain numbers, one entry per joint."""

    protocol: str
    ids: list[int]
    models: list[ServoModel]
    calibration: Calibration
    actuated: list[bool]
    operating_mode: str
    kp: list[float]
    kd: list[float]
    baudrate: int


def servo_setup(spec: RobotSpec, protocol: str) -> ServoSetup:
    """Resolve models and calibration; UserError (naming joint and key) before any port opens."""
    bus = bus_spec(spec)
    servos = bus.servos
    try:
        models = resolve_models(protocol, [s.model for s in servos])
    except UnknownModel as exc:
        raise UserError(f"robot spec {spec.name}: bus.joints.{spec.joints[exc.index].name}"
                        f".model: {exc}") from None
    action = spec.action.mode
    modes = set()
    for j, m in zip(spec.joints, models, strict=True):
        if not j.actuated:
            continue
        mode = m.action_modes.get(action)
        if mode is None:
            why = ("; it has no current-control operating mode, so it cannot apply a commanded "
                   "torque" if action == "torque" else "")
            raise UserError(
                f"robot spec {spec.name}: joint {j.name}: the {m.name} cannot serve action "
                f"mode '{action}' (it offers {', '.join(sorted(m.action_modes))}{why}); "
                "use a servo model with that mode or a policy trained in another one.")
        modes.add(mode)
    if len(modes) > 1:
        raise UserError(f"robot spec {spec.name}: the servos would need different operating "
                        f"modes ({', '.join(sorted(modes))}); use one model family per robot.")
    operating = modes.pop()
    cal = Calibration.build(models, [s.zero_offset for s in servos],
                            [s.direction for s in servos], [s.gear_ratio for s in servos])
    lo = np.array([j.position_limits[0] for j in spec.joints])
    hi = np.array([j.position_limits[1] for j in spec.joints])
    ranges = [m.position_range if (j.actuated and operating == "position") else
              m.multi_turn_range for j, m in zip(spec.joints, models, strict=True)]
    problems = cal.range_problems(lo, hi, ranges)
    if problems:
        i, limit, tick = problems[0]
        j, (tmin, tmax) = spec.joints[i], ranges[i]
        raise UserError(
            f"robot spec {spec.name}: bus.joints.{j.name}: the calibration maps the joint "
            f"limit {limit:g} to servo tick {tick}, outside the {models[i].name}'s range "
            f"[{tmin}, {tmax}] in {operating if j.actuated else 'read-only'} mode; fix "
            "zero_offset / gear_ratio (docs/servos.md, calibration).")
    return ServoSetup(protocol=protocol, ids=[j.motor_id for j in spec.joints], models=models,
                      calibration=cal, actuated=[j.actuated for j in spec.joints],
                      operating_mode=operating, kp=[j.kp for j in spec.joints],
                      kd=[j.kd for j in spec.joints], baudrate=bus.baudrate)


class Link:
    """MotorBus + the buffers and bookkeeping the control loop needs."""

    def __init__(self, url: str, spec: RobotSpec, baudrate: int, connect_timeout_s: float,
                 link_timeout_s: float, protocol: str = "") -> None:
        if not url:
            raise UserError("no port given: pass --port /dev/ttyACM0 (or /dev/pts/N, "
                            "socket://HOST:PORT).")
        self.url, self.spec = url, spec
        self.link_timeout_s = link_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.protocol = bus_protocol(spec, protocol)
        # One exchange may take half the link timeout, so one retry fits before the link
        # counts as lost; the port's read timeout is set from this when it opens.
        timeout_s = max(0.002, link_timeout_s / 2)
        self.bus: MotorBus | ServoBus
        if self.protocol == "robot_ppo":
            self.bus = MotorBus(url, spec.n_joints, wire_spec_hash(spec), baudrate=baudrate,
                                timeout_s=timeout_s)
        else:
            setup = servo_setup(spec, self.protocol)
            if spec.bus is not None and baudrate == DEFAULT_BAUDRATE:
                baudrate = setup.baudrate
            try:
                self.bus = ServoBus(url, packet_protocol(self.protocol), setup.ids,
                                    setup.models, setup.calibration, setup.actuated,
                                    setup.operating_mode, kp=setup.kp, kd=setup.kd,
                                    baudrate=baudrate, timeout_s=timeout_s,
                                    watchdog_s=max(0.02, link_timeout_s))
            except ValueError as exc:  # e.g. two register layouts on one bus
                raise UserError(f"robot spec {spec.name}: {exc}; see docs/servos.md.") from None
        self.state = RobotState.zeros(spec.n_joints, spec.imu)
        self.last_valid = 0.0
        self.timeouts = 0
        self.invalid_states = 0

    # ---- connection ---------------------------------------------------------------
    def connect(self) -> None:
        """Handshake, retried until `connect_timeout_s` has passed, with user-facing errors."""
        t0 = time.monotonic()
        try:
            while True:
                try:
                    self.bus.connect()
                    for warning in getattr(self.bus, "warnings", ()):
                        print(f"runtime: {warning}", file=sys.stderr, flush=True)
                    break
                except BusTimeout:
                    if time.monotonic() - t0 + self.bus.timeout_s > self.connect_timeout_s:
                        raise
        except (PortNotFound, PortPermissionDenied) as exc:
            raise UserError(str(exc)) from None
        except ServoMissing as exc:
            raise UserError(f"{exc}.") from None
        except BusTimeout:
            raise UserError(
                f"the controller on {self.url} did not answer the handshake within "
                f"{time.monotonic() - t0:.1f} s: is it powered and running the robot_ppo "
                "firmware (or `robot-ppo serve`), and is the port/baud rate right?") from None
        except ProtocolMismatch as exc:
            raise UserError(f"the controller on {self.url} does not match this robot: {exc}"
                            ) from None
        except BusError as exc:
            raise UserError(f"handshake with {self.url} failed: {exc}") from None
        self.last_valid = time.monotonic()

    def close(self) -> bool:
        """Disable (with retries) and close; True when the device confirmed disabled."""
        return self.bus.close()

    # ---- exchanges (each returns the new state or None) ------------------------------
    def read(self) -> DeviceState | None:
        return self._take(self.bus.read_state)

    def send(self, cmd: JointCommand) -> DeviceState | None:
        """The contract's command goes to the bus as it is: the bus reads its arrays
        (firmware_bridge.messages.CommandArrays) and encodes them for the wire."""
        return self._take(lambda: self.bus.send_command(cmd))

    def accept(self, ds: DeviceState) -> DeviceState | None:
        """Take a state that arrived outside send/read (e.g. the ENABLE reply)."""
        return self._take(lambda: ds)

    def _take(self, call: Callable[[], DeviceState]) -> DeviceState | None:
        """Run one exchange; BusTimeout/DeviceError and invalid numbers give None (counted).
        LinkLost and DeviceFault propagate: the caller stops the robot."""
        try:
            ds = call()
        except BusTimeout:
            self.timeouts += 1
            return None
        except (LinkLost, DeviceFault):
            raise
        except BusError:
            self.invalid_states += 1
            return None
        if not (np.isfinite(ds.q).all() and np.isfinite(ds.qd).all()
                and np.isfinite(ds.tau).all()):
            self.invalid_states += 1
            return None
        s = self.state
        s.t, s.q, s.qd, s.tau = ds.t, ds.q, ds.qd, ds.tau
        if ds.imu is not None:
            s.base_quat, s.base_ang_vel = ds.imu.quat, ds.imu.gyro
        self.last_valid = time.monotonic()
        return ds

    def lost(self) -> bool:
        """No valid state for longer than the link timeout."""
        return time.monotonic() - self.last_valid > self.link_timeout_s
