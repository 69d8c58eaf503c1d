"""Register-table records shared by every vendor's table file (plain data, no logic).

Contract for a vendor table file (``tables_<vendor>.py``): a ``MODELS`` dict, model name ->
``ServoModel``; a ``DEFAULT_MODEL`` name; nothing else but data. Register names are the
generic keys below, so the bus and the emulator address every vendor the same way:

    model_number firmware id baud return_delay operating_mode torque_enable
    status_return_level hardware_error pos_p pos_i pos_d watchdog current_limit
    min_position max_position goal_current goal_velocity goal_position
    present_current present_velocity present_position present_voltage present_temperature

A vendor that lacks a register simply leaves it out (e.g. no ``watchdog`` on the STS3215).
Units: ``*_unit`` fields give the SI value of one tick; ``torque_constant`` (N·m/A) turns
current into torque where the vendor publishes one (None: the bus reports amps).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Register", "ServoModel"]


@dataclass(frozen=True)
class Register:
    """One control-table entry."""

    address: int
    size: int
    """Bytes (1, 2 or 4), little-endian unless the vendor says otherwise."""
    signed: bool = False
    """Two's complement, or sign-magnitude when the model's ``sign_bit`` is set."""
    eeprom: bool = False
    """In EEPROM: writable only while torque is off (a real servo refuses otherwise)."""
    sign_bit: int | None = None
    """Sign-magnitude sign bit of this register when it differs from the model's
    ``sign_bit`` (the STS3215's Present Load keeps its direction in bit 10)."""


@dataclass(frozen=True)
class ServoModel:
    """A servo model: its number, register table, units and what it supports."""

    name: str
    vendor: str
    model_number: int
    registers: Mapping[str, Register]
    ticks_per_turn: int
    position_range: tuple[int, int]
    """Goal-position range in single-turn position mode, ticks."""
    multi_turn_range: tuple[int, int]
    """Present-position range in the multi-turn modes (current, extended position), ticks."""
    velocity_unit: float
    """rad/s per tick of present/goal velocity."""
    current_unit: float | None
    """A per tick of present/goal current; None: the servo reports load, not current."""
    load_unit: float = 0.0
    """Fraction of stall torque per tick of present load (servos without current sensing)."""
    torque_constant: float | None = None
    """N·m per A at the output shaft; None: no published value (effort reported in A)."""
    stall_torque: float = 0.0
    """N·m at the nominal voltage: the most the servo can give."""
    operating_modes: Mapping[str, int] = field(default_factory=dict)
    """Mode name (current, velocity, position, extended_position, current_position) -> value."""
    action_modes: Mapping[str, str] = field(default_factory=dict)
    """Robot action mode (torque | position) -> the operating mode that serves it."""
    gains: tuple[str, ...] = ()
    """Gain registers the model has (pos_p, pos_i, pos_d)."""
    gain_units: Mapping[str, float] = field(default_factory=dict)
    """Gain register -> N·m/rad (pos_p) or N·m·s/rad (pos_d) per register LSB (our model of the
    servo's inner loop; used to convert the spec's kp/kd, and by the emulator)."""
    watchdog_unit_s: float | None = None
    """Seconds per tick of the bus watchdog register; None: the model has no watchdog."""
    firmware_fast_sync_read: int = 0
    """Lowest firmware version answering Fast Sync Read (0 = never)."""
    sign_bit: int | None = None
    """Sign-magnitude signed registers: the sign bit index (Feetech: 15); None = two's compl."""
    status_return_all: int = 2
    """Status Return Level value at which the servo answers every instruction (Dynamixel 2,
    Feetech 1)."""
    byteorder: str = "little"
    """Multi-byte register byte order."""
    hardware_error_bits: Mapping[int, str] = field(default_factory=dict)
    """Bit of the hardware-error register -> its name."""
    baud_codes: Mapping[int, int] = field(default_factory=dict)
    """Baud-rate register value -> baud."""
