"""ROBOTIS Dynamixel X-series register tables (Protocol 2.0), as plain data.

Sources: the ROBOTIS e-manual control tables of the XM430-W210, XL430-W250 and XL330-M288
(addresses, sizes, units); model numbers as LeRobot's tables list them. Every X-series model
here shares one control-table layout, so the table is written once and the models differ in
units and limits. Gain units (``gain_units``) are this project's model of the servo's inner
position loop, chosen so that the spec's kp/kd map to register values of the usual size
(KPP = P gain / 128 in the e-manual), not a ROBOTIS figure.
"""

from __future__ import annotations

import math

from firmware_bridge.servo.tables import Register, ServoModel

__all__ = ["DEFAULT_MODEL", "MODELS", "X_SERIES"]

X_SERIES = {
    "model_number": Register(0, 2, eeprom=True),
    "firmware": Register(6, 1, eeprom=True),
    "id": Register(7, 1, eeprom=True),
    "baud": Register(8, 1, eeprom=True),
    "return_delay": Register(9, 1, eeprom=True),  # 2 µs per tick, default 250
    "drive_mode": Register(10, 1, eeprom=True),
    "operating_mode": Register(11, 1, eeprom=True),
    "homing_offset": Register(20, 4, signed=True, eeprom=True),
    "temperature_limit": Register(31, 1, eeprom=True),
    "pwm_limit": Register(36, 2, eeprom=True),
    "current_limit": Register(38, 2, eeprom=True),
    "max_position": Register(48, 4, eeprom=True),
    "min_position": Register(52, 4, eeprom=True),
    "shutdown": Register(63, 1, eeprom=True),
    "torque_enable": Register(64, 1),
    "led": Register(65, 1),
    "status_return_level": Register(68, 1),
    "hardware_error": Register(70, 1),
    "pos_d": Register(80, 2),
    "pos_i": Register(82, 2),
    "pos_p": Register(84, 2),
    "watchdog": Register(98, 1, signed=True),  # 20 ms per tick; reads -1 after it tripped
    "goal_pwm": Register(100, 2, signed=True),
    "goal_current": Register(102, 2, signed=True),
    "goal_velocity": Register(104, 4, signed=True),
    "goal_position": Register(116, 4, signed=True),
    "moving": Register(122, 1),
    "present_current": Register(126, 2, signed=True),
    "present_velocity": Register(128, 4, signed=True),
    "present_position": Register(132, 4, signed=True),
    "present_voltage": Register(144, 2),
    "present_temperature": Register(146, 1),
}
"""X-series control table (e-manual); EEPROM entries are writable with torque off only."""

_MODES = {"current": 0, "velocity": 1, "position": 3, "extended_position": 4,
          "current_position": 5, "pwm": 16}
_HW_ERRORS = {0: "input voltage error", 2: "overheating error", 3: "motor encoder error",
              4: "electrical shock error", 5: "overload error"}
_BAUD = {0: 9600, 1: 57_600, 2: 115_200, 3: 1_000_000, 4: 2_000_000, 5: 3_000_000,
         6: 4_000_000, 7: 4_500_000}
_RPM = 0.229 * 2 * math.pi / 60  # velocity: 0.229 rev/min per tick
_TICKS = 4096
_MULTI = (-256 * _TICKS + 1, 256 * _TICKS - 1)  # ±256 turns in the multi-turn modes


def _x(name: str, number: int, current_a: float | None, kt: float | None, stall: float,
       modes: dict[str, int], load_unit: float = 0.0) -> ServoModel:
    action = {"position": "current_position" if "current_position" in modes else "position"}
    if "current" in modes:
        action["torque"] = "current"
    return ServoModel(
        name=name, vendor="dynamixel", model_number=number, registers=X_SERIES,
        ticks_per_turn=_TICKS, position_range=(0, _TICKS - 1), multi_turn_range=_MULTI,
        velocity_unit=_RPM, current_unit=current_a, load_unit=load_unit, torque_constant=kt,
        stall_torque=stall,
        operating_modes=modes, action_modes=action, gains=("pos_p", "pos_i", "pos_d"),
        gain_units={"pos_p": 0.005, "pos_d": 0.0005}, watchdog_unit_s=0.02,
        firmware_fast_sync_read=45, hardware_error_bits=_HW_ERRORS, baud_codes=_BAUD,
    )


_NO_CURRENT = {k: v for k, v in _MODES.items() if k not in ("current", "current_position")}

MODELS: dict[str, ServoModel] = {
    # XM430-W210: 2.69 mA per tick; stall 3.0 N·m at 2.3 A (12 V) -> ~1.3 N·m/A
    "XM430-W210": _x("XM430-W210", 1030, 2.69e-3, 3.0 / 2.3, 3.0, dict(_MODES)),
    # XL430-W250: no current sensing (126 is Present Load, 0.1 % of stall per tick): no
    # current or current-based position mode
    "XL430-W250": _x("XL430-W250", 1060, None, None, 1.5, dict(_NO_CURRENT), 0.001),
    # XL330-M288: 1 mA per tick; stall 0.52 N·m at 1.47 A (5 V)
    "XL330-M288": _x("XL330-M288", 1200, 1.0e-3, 0.52 / 1.47, 0.52, dict(_MODES)),
}
DEFAULT_MODEL = "XM430-W210"
