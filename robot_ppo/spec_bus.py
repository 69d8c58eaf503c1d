"""The optional `bus:` section of a robot spec: which smart-servo bus, servo models, calibration.

Bus contract (docs/robot_spec.md, docs/servos.md): `RobotSpec.bus` is None without a
`bus:` section; `bus_spec(spec)` always returns a `BusSpec` (protocol robot_ppo and
default servos then). `BusSpec.servos[i]` belongs to `spec.joints[i]`; the servo ID is
the joint's `motor_id`. Model names are checked against the register tables by the host
bus (firmware_bridge.servo), not here: this module knows no vendor. The section is not part
of the spec hash (robot_ppo/spec.py). Light core: stdlib only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from robot_ppo.spec_reader import FieldReader

if TYPE_CHECKING:
    from robot_ppo.spec import JointSpec, RobotSpec

BUS_PROTOCOLS = ("robot_ppo", "dynamixel", "feetech")


@dataclass(frozen=True)
class ServoSpec:
    """One joint's servo on a smart-servo bus, and its calibration.

    joint value = direction * (servo angle - zero) / gear_ratio, i.e. the servo turns
    `gear_ratio` radians per radian of a revolute joint (per metre of a prismatic joint).
    """

    model: str = ""
    """Servo model (e.g. XM430-W210, STS3215); "" = the vendor's default model."""
    zero_offset: float = 0.0
    """Servo angle (rad, at the servo shaft) where the joint reads 0."""
    direction: int = 1
    """+1 if the joint turns with the servo, -1 if against it."""
    gear_ratio: float = 1.0
    """Servo radians per joint unit (servo turns per joint turn for a revolute joint)."""


@dataclass(frozen=True)
class BusSpec:
    """Which bus the robot's joints hang on (the `bus:` section)."""

    protocol: str = "robot_ppo"
    """robot_ppo (this project's firmware) | dynamixel | feetech."""
    baudrate: int = 1_000_000
    """Line rate of the servo bus, baud."""
    servos: tuple[ServoSpec, ...] = ()
    """One per joint in bus order (defaults where the section names no joint)."""


def bus_spec(spec: RobotSpec) -> BusSpec:
    """The spec's bus, or the default one (robot_ppo protocol, default servos)."""
    if spec.bus is not None:
        return spec.bus
    return BusSpec(servos=tuple(ServoSpec() for _ in spec.joints))


def _servo(r: FieldReader) -> ServoSpec:
    model = r.get("model", "")
    if not isinstance(model, str):
        raise r.fail("model", f"must be a servo model name (e.g. XM430-W210), got {model!r}")
    direction = r.get("direction", 1)
    if direction not in (1, -1) or isinstance(direction, bool):
        raise r.fail("direction", f"must be 1 or -1, got {direction!r}")
    servo = ServoSpec(model=model, zero_offset=r.num("zero_offset", 0.0),
                      direction=int(direction), gear_ratio=r.num("gear_ratio", 1.0,
                                                                  positive=True))
    r.done()
    return servo


def read_bus(r: FieldReader, joints: Sequence[JointSpec]) -> BusSpec:
    """The `bus:` section read from `r`, for these joints (keyed by joint name)."""
    protocol = r.text("protocol", "robot_ppo", choices=BUS_PROTOCOLS)
    baudrate = r.integer("baudrate", 1_000_000, minimum=1)
    jr = r.child("joints", {})
    names = [j.name for j in joints]
    for key in jr.data:
        if key not in names:
            raise jr.fail(str(key), f"is not a joint of this spec (joints: {', '.join(names)})")
    servos = tuple(_servo(jr.child(j.name, {})) for j in joints)
    jr.done()
    r.done()
    return BusSpec(protocol=protocol, baudrate=baudrate, servos=servos)
