"""Feetech STS/SMS and SCS register tables, as plain data.

Sources: Feetech's STS3215 and SCS0009 memory tables (addresses, sizes; the STS3215 data sheet
for stall torque and speed) and LeRobot's Feetech tables for the model numbers (STS3215 777,
SCS0009 1284) and the sign-magnitude encoding. Facts that decide the codec:

* STS/SMS registers are little-endian, SCS registers big-endian (the SDK's ``protocol_end``
  0 and 1).
* Signed values are sign-magnitude, sign in bit 15 (``sign_bit``). The homing offset is the
  exception (sign in bit 11); the host never writes it (calibration lives in the spec, applied
  by ``calibration.py``), so the table lists it unsigned.
* There is no current (torque) mode: operating mode 0 is position, 1 velocity ("wheel"), 2
  open-loop PWM, 3 stepper. A torque-mode robot cannot run on these servos.
* Present load is 0.1 % of the stall torque per tick (0..1000): the bus reports effort as
  load × stall torque (N·m, ``current_unit`` None). On the wire its sign is bit 10, not 15
  (the register's own ``sign_bit``, which the bus and the emulator both use). The
  generic key ``present_current`` (what the bus reads each cycle) is therefore Present_Load
  (60); the STS3215's real current (69, 6.5 mA per tick) is ``present_amps``, unused.
* No bus watchdog register: the host's own link watchdog (the runtime's) is the only one.
* Gains: P (21), D (22), I (23), one byte each, in the servo's own units. ``gain_units`` is
  this project's model of the inner loop (the emulator uses it; the bus converts kp/kd with
  it), chosen so that the servo_arm's kp 10 N·m/rad / kd 1.5 N·m·s/rad land on P 16, D 32
  (LeRobot's SO-100 settings; the factory P is 32); not a Feetech figure.
"""

from __future__ import annotations

import math

from firmware_bridge.servo.tables import Register, ServoModel

__all__ = ["DEFAULT_MODEL", "MODELS", "SCS_SERIES", "STS_SERIES"]

STS_SERIES = {
    "firmware": Register(0, 1, eeprom=True),  # firmware major version
    "firmware_minor": Register(1, 1, eeprom=True),
    "model_number": Register(3, 2, eeprom=True),
    "id": Register(5, 1, eeprom=True),
    "baud": Register(6, 1, eeprom=True),
    "return_delay": Register(7, 1, eeprom=True),  # 2 µs per tick
    "status_return_level": Register(8, 1, eeprom=True),
    "min_position": Register(9, 2, eeprom=True),
    "max_position": Register(11, 2, eeprom=True),
    "temperature_limit": Register(13, 1, eeprom=True),
    "max_voltage": Register(14, 1, eeprom=True),
    "min_voltage": Register(15, 1, eeprom=True),
    "max_torque": Register(16, 2, eeprom=True),  # 0.1 % of stall per tick
    "pos_p": Register(21, 1, eeprom=True),
    "pos_d": Register(22, 1, eeprom=True),
    "pos_i": Register(23, 1, eeprom=True),
    "homing_offset": Register(31, 2, eeprom=True),  # sign in bit 11 (module doc)
    "operating_mode": Register(33, 1, eeprom=True),
    "torque_enable": Register(40, 1),
    "acceleration": Register(41, 1),
    "goal_position": Register(42, 2, signed=True),
    "goal_time": Register(44, 2),
    "goal_velocity": Register(46, 2, signed=True),
    "torque_limit": Register(48, 2),
    "lock": Register(55, 1),  # 1: EEPROM write-protected (the factory state)
    "present_position": Register(56, 2, signed=True),
    "present_velocity": Register(58, 2, signed=True),
    # the generic "present_current" key is the effort register the bus reads every cycle:
    # on Feetech that is Present_Load (module doc); the real current is "present_amps"
    "present_current": Register(60, 2, signed=True, sign_bit=10),  # Present Load: sign bit 10
    "present_voltage": Register(62, 1),  # 0.1 V per tick
    "present_temperature": Register(63, 1),
    "hardware_error": Register(65, 1),  # "Status": the error bits of the last status packet
    "moving": Register(66, 1),
    "present_amps": Register(69, 2, signed=True),
}
"""STS/SMS memory table (STS3215). EEPROM entries are writable with torque off only."""

SCS_SERIES = {
    "firmware": Register(0, 1, eeprom=True),
    "firmware_minor": Register(1, 1, eeprom=True),
    "model_number": Register(3, 2, eeprom=True),
    "id": Register(5, 1, eeprom=True),
    "baud": Register(6, 1, eeprom=True),
    "return_delay": Register(7, 1, eeprom=True),
    "status_return_level": Register(8, 1, eeprom=True),
    "min_position": Register(9, 2, eeprom=True),
    "max_position": Register(11, 2, eeprom=True),
    "temperature_limit": Register(13, 1, eeprom=True),
    "max_voltage": Register(14, 1, eeprom=True),
    "min_voltage": Register(15, 1, eeprom=True),
    "max_torque": Register(16, 2, eeprom=True),
    "pos_p": Register(21, 1, eeprom=True),
    "pos_d": Register(22, 1, eeprom=True),
    "pos_i": Register(23, 1, eeprom=True),
    "torque_enable": Register(40, 1),
    "acceleration": Register(41, 1),
    "goal_position": Register(42, 2, signed=True),
    "goal_time": Register(44, 2),
    "goal_velocity": Register(46, 2, signed=True),
    "lock": Register(48, 1),
    "present_position": Register(56, 2, signed=True),
    "present_velocity": Register(58, 2, signed=True),
    "present_current": Register(60, 2, signed=True, sign_bit=10),  # Present_Load (see STS_SERIES)
    "present_voltage": Register(62, 1),
    "present_temperature": Register(63, 1),
    "hardware_error": Register(65, 1),
    "moving": Register(66, 1),
}
"""SCS memory table (SCS0009): no operating-mode or current register, big-endian."""

_HW_ERRORS = {0: "voltage error", 1: "angle sensor error", 2: "overheating error",
              3: "overcurrent error", 5: "overload error"}
"""Status error byte bits (the same bits as the status register 65)."""
_BAUD = {0: 1_000_000, 1: 500_000, 2: 250_000, 3: 128_000, 4: 115_200, 5: 76_800,
         6: 57_600, 7: 38_400}
_STS_MODES = {"position": 0, "velocity": 1, "pwm": 2, "step": 3}
# the gain model (module doc): P 16 -> 10 N·m/rad, D 32 -> 1.5 N·m·s/rad
_GAINS = {"pos_p": 10.0 / 16, "pos_d": 1.5 / 32}

MODELS: dict[str, ServoModel] = {
    # STS3215 (12 V): 30 kg·cm stall (2.94 N·m), 0.222 s/60° no load (4.7 rad/s),
    # 4096 ticks/turn; speed in ticks/s (50 ticks/s = 0.732 rev/min).
    "STS3215": ServoModel(
        name="STS3215", vendor="feetech", model_number=777, registers=STS_SERIES,
        ticks_per_turn=4096, position_range=(0, 4095), multi_turn_range=(-30719, 30719),
        velocity_unit=2 * math.pi / 4096, current_unit=None, load_unit=0.001,
        torque_constant=None, stall_torque=2.94, operating_modes=dict(_STS_MODES),
        action_modes={"position": "position"}, gains=("pos_p", "pos_i", "pos_d"),
        gain_units=dict(_GAINS), watchdog_unit_s=None, sign_bit=15, status_return_all=1,
        byteorder="little",
        hardware_error_bits=_HW_ERRORS, baud_codes=_BAUD),
    # SCS0009 (6 V): 2.3 kg·cm stall (0.23 N·m), 0.1 s/60° (10.5 rad/s), 1024 ticks over
    # 300° (as 1024 · 360/300 ticks per turn), position mode only.
    "SCS0009": ServoModel(
        name="SCS0009", vendor="feetech", model_number=1284, registers=SCS_SERIES,
        ticks_per_turn=1229, position_range=(0, 1023), multi_turn_range=(0, 1023),
        velocity_unit=2 * math.pi / 1229, current_unit=None, load_unit=0.001,
        torque_constant=None, stall_torque=0.23, operating_modes={"position": 0},
        action_modes={"position": "position"}, gains=("pos_p", "pos_i", "pos_d"),
        gain_units=dict(_GAINS), watchdog_unit_s=None, sign_bit=15, status_return_all=1,
        byteorder="big",
        hardware_error_bits=_HW_ERRORS, baud_codes=_BAUD),
}
DEFAULT_MODEL = "STS3215"
