"""The spec's `bus:` section: parsing, validation messages, and the spec hash rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from robot_ppo.spec import BUILTIN_DIR, SpecError, load_spec, spec_from_dict
from robot_ppo.spec_bus import bus_spec

# sha256 of the built-in cartpole's interface before the bus section existed (commit
# 5c192a5): a spec without `bus:` must keep hashing to this, or every exported policy and
# checkpoint of it would stop matching its robot.
CARTPOLE_HASH_BEFORE_BUS = "9c756f67c4fc2124fe5be5f7a1f0b44c496a25d6aaea7dd3ef3b44729f4e9e89"


def _cartpole() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((BUILTIN_DIR / "cartpole.yaml").read_text())
    return data


def test_hash_unchanged_without_bus() -> None:
    data = _cartpole()
    spec = spec_from_dict(copy.deepcopy(data))
    assert spec.bus is None
    # the interface dict of a bus-less spec has exactly the keys it always had
    assert "bus" not in spec.to_dict()
    assert spec.spec_hash == load_spec("cartpole").spec_hash == CARTPOLE_HASH_BEFORE_BUS
    # the bus (wiring, calibration) is not part of the interface either: a policy trained
    # on the bus-less spec runs on the same robot wired to servos
    with_bus = spec_from_dict({**copy.deepcopy(data), "bus": {"protocol": "dynamixel"}})
    assert with_bus.spec_hash == spec.spec_hash and with_bus != spec


def test_bus_section_parses_and_round_trips() -> None:
    data = _cartpole()
    data["bus"] = {"protocol": "dynamixel", "baudrate": 4_000_000,
                   "joints": {"slider_to_cart": {"model": "XM430-W210", "zero_offset": 0.5,
                                                 "direction": -1, "gear_ratio": 20}}}
    spec = spec_from_dict(data)
    assert spec.bus is not None
    assert spec.bus.protocol == "dynamixel" and spec.bus.baudrate == 4_000_000
    cart, pole = spec.bus.servos
    assert (cart.model, cart.zero_offset, cart.direction, cart.gear_ratio) == (
        "XM430-W210", 0.5, -1, 20.0)
    assert (pole.model, pole.direction, pole.gear_ratio) == ("", 1, 1.0)  # defaults
    again = spec_from_dict(spec.to_dict())
    assert again == spec and again.spec_hash == spec.spec_hash


def test_default_bus_without_section() -> None:
    spec = load_spec("cartpole")
    b = bus_spec(spec)
    assert b.protocol == "robot_ppo" and len(b.servos) == spec.n_joints


@pytest.mark.parametrize(("bus", "needle"), [
    ({"protocol": "canopen"}, "'bus.protocol' must be one of robot_ppo, dynamixel, feetech"),
    ({"baudrate": 0}, "'bus.baudrate'"),
    ({"joints": {"nope": {}}}, "'bus.joints.nope' is not a joint"),
    ({"joints": {"slider_to_cart": {"direction": 2}}}, "'bus.joints.slider_to_cart.direction'"),
    ({"joints": {"slider_to_cart": {"gear_ratio": -1}}},
     "'bus.joints.slider_to_cart.gear_ratio' must be > 0"),
    ({"joints": {"slider_to_cart": {"model": 430}}}, "'bus.joints.slider_to_cart.model'"),
    ({"joints": {"slider_to_cart": {"speed": 3}}}, "unknown field(s) speed"),
])
def test_bad_bus_names_the_key(bus: dict[str, Any], needle: str) -> None:
    data = _cartpole()
    data["bus"] = bus
    with pytest.raises(SpecError) as err:
        spec_from_dict(data)
    assert needle in str(err.value)


def test_duplicate_servo_id_names_both_joints() -> None:
    data = _cartpole()
    data["joints"][1]["motor_id"] = 1
    data["bus"] = {"protocol": "dynamixel"}
    with pytest.raises(SpecError) as err:
        spec_from_dict(data)
    msg = str(err.value)
    assert "duplicate motor_id" in msg and "slider_to_cart" in msg and "cart_to_pole" in msg
