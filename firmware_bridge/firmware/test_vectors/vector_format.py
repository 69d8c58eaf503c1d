"""How vectors.txt writes a field: hex bytes ('-' when empty), float32 bit patterns, int lists."""

from __future__ import annotations

import struct

import numpy as np

__all__ = ["f32bits", "hx", "ints"]


def hx(b: bytes) -> str:
    return b.hex() if b else "-"


def f32bits(x: float) -> str:
    return struct.pack("<f", x)[::-1].hex()  # big-endian hex of the bit pattern


def ints(a: object) -> str:
    return ",".join(str(int(v)) for v in np.asarray(a).reshape(-1))
