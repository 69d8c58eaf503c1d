"""Ticks <-> joint units (zero offset, direction, gear ratio) and register sign conventions."""

from __future__ import annotations

import math

import numpy as np

from firmware_bridge.servo import registers
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.tables import Register
from firmware_bridge.servo.tables_dynamixel import MODELS

XM = MODELS["XM430-W210"]


def test_zero_direction_gear() -> None:
    cal = Calibration.build([XM, XM], zero_offset=[0.0, math.pi / 2], direction=[1, -1],
                            gear_ratio=[1.0, 2.0])
    # joint 0 at the middle tick; joint 1's zero is a quarter turn past the middle
    assert list(cal.ticks_from_q(np.zeros(2))) == [2048, 3072]
    # +0.5 rad on joint 1 (against the servo, 2:1) = 1 servo rad below its zero
    t = cal.ticks_from_q(np.array([0.0, 0.5]))
    assert t[1] == round(3072 - 4096 / (2 * math.pi))
    q = np.array([0.3, -0.7])
    assert np.allclose(cal.q_from_ticks(cal.ticks_from_q(q)), q, atol=2 * math.pi / 4096)


def test_effort_through_gear_and_torque_constant() -> None:
    cal = Calibration.build([XM], [0.0], [1], [20.0])
    # 10 N at a 20 rad/m cart = 0.5 N·m at the servo = 0.5 / 1.304 A = 143 ticks of 2.69 mA
    ticks = cal.ticks_from_tau(np.array([10.0]))
    assert int(ticks[0]) == round(0.5 / (3.0 / 2.3) / 2.69e-3)
    assert abs(cal.tau_from_ticks(ticks)[0] - 10.0) < 20 * 2.69e-3 * 3.0 / 2.3


def test_range_problems_name_the_joint_and_tick() -> None:
    cal = Calibration.build([XM, XM], [0.0, 0.0], [1, 1], [1.0, 1000.0])
    lo, hi = np.array([-1.0, -2.4]), np.array([1.0, 2.4])
    problems = cal.range_problems(lo, hi, [XM.position_range, XM.multi_turn_range])
    assert [p[0] for p in problems] == [1, 1]  # only the 1000:1 joint, both limits
    assert problems[0][1] == -2.4 and problems[0][2] < XM.multi_turn_range[0]


def test_register_sign_conventions() -> None:
    twos = Register(0, 2, signed=True)
    assert registers.encode(XM, twos, -2) == b"\xfe\xff"
    assert registers.decode(XM, twos, b"\xfe\xff") == -2
    assert registers.encode(XM, twos, 10**6) == b"\xff\x7f"  # saturates, never wraps
    assert registers.encode(XM, Register(0, 1), -5) == b"\x00"
    from dataclasses import replace
    sm = replace(XM, sign_bit=15)  # Feetech-style sign-magnitude
    assert registers.encode(sm, twos, -2) == b"\x02\x80"
    assert registers.decode(sm, twos, b"\x02\x80") == -2


def test_present_load_keeps_its_direction_in_bit_10() -> None:
    """STS/SCS Present Load is magnitude 0..1000 (0.1 % each) with the direction in bit 10,
    not in the model's bit 15 (Feetech's memory table); a load of -50 % reads back as -500."""
    from firmware_bridge.servo.tables_feetech import MODELS as FEETECH

    for model in FEETECH.values():
        load = model.registers["present_current"]
        raw = registers.encode(model, load, -500)
        assert int.from_bytes(raw, model.byteorder) == (1 << 10) | 500  # type: ignore[arg-type]
        assert registers.decode(model, load, raw) == -500
        # speed keeps the model's bit 15
        speed = model.registers["present_velocity"]
        assert int.from_bytes(registers.encode(model, speed, -3), model.byteorder) \
            == (1 << 15) | 3  # type: ignore[arg-type]
