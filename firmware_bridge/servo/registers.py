"""Register values <-> bytes, with the model's byte order and sign convention."""

from __future__ import annotations

from firmware_bridge.servo.tables import Register, ServoModel

__all__ = ["block", "decode", "encode"]


def _sign_bit(model: ServoModel, reg: Register) -> int | None:
    """The sign-magnitude sign bit of a signed register (None: two's complement)."""
    return reg.sign_bit if reg.sign_bit is not None else model.sign_bit


def encode(model: ServoModel, reg: Register, value: int) -> bytes:
    """``value`` as the register's bytes; saturates to the register's range."""
    bits = 8 * reg.size
    sign = _sign_bit(model, reg)
    if reg.signed and sign is not None:
        mag = min(abs(int(value)), (1 << sign) - 1)
        raw = mag | ((1 << sign) if value < 0 else 0)
    elif reg.signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        raw = min(max(int(value), lo), hi) & ((1 << bits) - 1)
    else:
        raw = min(max(int(value), 0), (1 << bits) - 1)
    return raw.to_bytes(reg.size, model.byteorder)  # type: ignore[arg-type]


def decode(model: ServoModel, reg: Register, data: bytes) -> int:
    raw = int.from_bytes(data[:reg.size], model.byteorder)  # type: ignore[arg-type]
    if not reg.signed:
        return raw
    sign = _sign_bit(model, reg)
    if sign is not None:
        mag = raw & ((1 << sign) - 1)
        return -mag if raw & (1 << sign) else mag
    bits = 8 * reg.size
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


def block(model: ServoModel, names: tuple[str, ...]) -> tuple[int, int]:
    """(start address, length) of the smallest contiguous span covering ``names``."""
    regs = [model.registers[n] for n in names]
    start = min(r.address for r in regs)
    return start, max(r.address + r.size for r in regs) - start
