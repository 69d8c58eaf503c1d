"""Checks for ADR and curriculum state read back from a checkpoint.

A checkpoint holds plain data only (dicts, lists, floats, bools), possibly hand-edited or
written by another version: these helpers accept exactly the expected shapes and raise
ValueError naming the bad value otherwise, so loading never half-applies a broken state.
"""

from __future__ import annotations

import math
from typing import Any


def require_dict(value: Any, what: str) -> dict[str, Any]:
    """`value` if it is a dict with str keys; ValueError otherwise."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{what} must be a dict with string keys, got "
                         f"{type(value).__name__}")
    return value


def finite_float(value: Any, what: str) -> float:
    """`value` as a float if it is a finite int or float (not a bool); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def number_pair(value: Any, what: str) -> tuple[float, float]:
    """A [lo, hi] list (or tuple) of finite numbers with lo <= hi."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{what} must be a [lo, hi] list, got {value!r}")
    lo, hi = finite_float(value[0], what), finite_float(value[1], what)
    if lo > hi:
        raise ValueError(f"{what} has lo > hi: {value!r}")
    return lo, hi


def float_list(value: Any, what: str) -> list[float]:
    """A list of finite numbers, as floats."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{what} must be a list of numbers, got {type(value).__name__}")
    return [finite_float(v, what) for v in value]


def bool_list(value: Any, what: str) -> list[bool]:
    """A list of bools."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, bool) for v in value):
        raise ValueError(f"{what} must be a list of true/false values, got {value!r}")
    return list(value)
