"""Reader of firmware_bridge/firmware/test_vectors/vectors.txt, the vectors the Python tests
and the C tests (firmware_bridge/firmware/tests/) both check. The format is described at the
top of that file and in its generator, generate.py next to it."""

from __future__ import annotations

import struct
from functools import cache
from pathlib import Path

import firmware_bridge

VECTORS = Path(firmware_bridge.__file__).parent / "firmware" / "test_vectors" / "vectors.txt"
GENERATOR = VECTORS.with_name("generate.py")


@cache
def _lines() -> tuple[tuple[str, ...], ...]:
    out = []
    for line in VECTORS.read_text().splitlines():
        if line and not line.startswith("#"):
            out.append(tuple(line.split(" ")))
    return tuple(out)


def lines(kind: str | None = None) -> list[tuple[str, ...]]:
    """Every vector line of ``kind`` (all if None), as (kind, field, ...)."""
    return [t for t in _lines() if kind is None or t[0] == kind]


def hexb(field: str) -> bytes:
    return b"" if field == "-" else bytes.fromhex(field)


def ints(field: str) -> list[int]:
    return [] if field == "-" else [int(v) for v in field.split(",")]


def f32(bits: str) -> float:
    return float(struct.unpack(">f", bytes.fromhex(bits))[0])
