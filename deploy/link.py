"""The runtime's side of the motor bus: connect with clear errors, convert records, keep
pre-allocated buffers, and decide when the link counts as lost.

`wire_spec_hash(spec)` = the first 8 bytes of the spec's sha256: what the controller
reports in its HELLO_REPLY (the virtual controller is configured the same way).
Link loss: no valid state (a reply with finite numbers) for `link_timeout_s`, or the port
itself going away (LinkLost). A single late reply is only counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

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
from firmware_bridge.messages import JointCommand as WireCommand
from robot_ppo.action import JointCommand
from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState

__all__ = ["BusError", "DeviceFault", "Link", "LinkLost", "wire_spec_hash"]


def wire_spec_hash(spec: RobotSpec) -> bytes:
    return bytes.fromhex(spec.spec_hash)[:8]


class Link:
    """MotorBus + the buffers and bookkeeping the control loop needs."""

    def __init__(self, url: str, spec: RobotSpec, baudrate: int, connect_timeout_s: float,
                 link_timeout_s: float) -> None:
        if not url:
            raise UserError("no port given: pass --port /dev/ttyACM0 (or /dev/pts/N, "
                            "socket://HOST:PORT).")
        self.url, self.spec = url, spec
        self.link_timeout_s = link_timeout_s
        self.connect_timeout_s = connect_timeout_s
        # One exchange may take half the link timeout, so one retry fits before the link
        # counts as lost; the port's read timeout is set from this when it opens.
        self.bus = MotorBus(url, spec.n_joints, wire_spec_hash(spec), baudrate=baudrate,
                            timeout_s=max(0.002, link_timeout_s / 2))
        self.wire = WireCommand.zeros(spec.n_joints)
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
                    break
                except BusTimeout:
                    if time.monotonic() - t0 + self.bus.timeout_s > self.connect_timeout_s:
                        raise
        except (PortNotFound, PortPermissionDenied) as exc:
            raise UserError(str(exc)) from None
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
        w = self.wire
        w.mode[:] = cmd.mode
        w.q[:] = cmd.q
        w.qd[:] = cmd.qd
        w.tau[:] = cmd.tau
        w.kp[:] = cmd.kp
        w.kd[:] = cmd.kd
        return self._take(lambda: self.bus.send_command(w))

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
