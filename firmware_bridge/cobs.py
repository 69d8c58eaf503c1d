"""Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).

COBS rewrites a byte string so that it contains no 0x00; the wire then uses 0x00 as the
frame delimiter, so a receiver can always resynchronise at the next 0x00 whatever garbage came
before it. The encoded form is a sequence of blocks: a code byte ``c`` (1..255) followed by
``c - 1`` non-zero data bytes; a block with ``c < 255`` stands for its data followed by one
0x00, except the last block of the frame, whose implied zero is dropped. ``c = 255`` marks a
full block of 254 data bytes *without* an implied zero, which is why a frame ending with a full
block needs no extra code byte (reference vector: 254 bytes 01..FE -> FF 01..FE).

Overhead: one byte, plus one more per 254 consecutive non-zero bytes.

Hand-written rather than taken from the ``cobs`` PyPI package: this package may only import
stdlib/numpy/pyserial, the latest ``cobs`` release ships no aarch64 wheel (robot computers
would compile it from source), and the codec is small enough to test exhaustively here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CobsDecodeError", "decode", "encode", "max_encoded_len"]

_FULL = 254  # data bytes in a full block (code 0xFF)


class CobsDecodeError(ValueError):
    """The input is not a valid COBS encoding."""


def max_encoded_len(n: int) -> int:
    """Worst-case encoded length (without delimiter) of ``n`` raw bytes."""
    return n + 1 + n // _FULL


def encode(data: bytes | bytearray | memoryview) -> bytes:
    """Encode ``data``; the result contains no 0x00 and no delimiter."""
    raw = np.frombuffer(data, dtype=np.uint8)
    # Fast path when every block is shorter than 254 bytes (no 0xFF codes): each zero is
    # replaced by the distance to the next zero (or to the end), and a code byte is prepended.
    bounds = np.concatenate(([-1], np.flatnonzero(raw == 0), [raw.size]))
    gaps = np.diff(bounds)
    if gaps.max() <= _FULL:
        out = np.empty(raw.size + 1, dtype=np.uint8)
        out[1:] = raw
        out[bounds[:-1] + 1] = gaps
        return out.tobytes()
    return _encode_general(bytes(data))


def _encode_general(data: bytes) -> bytes:
    out = bytearray()
    blocks = data.split(b"\x00")
    last = len(blocks) - 1
    for i, block in enumerate(blocks):
        n = len(block)
        start = 0
        while n - start >= _FULL:
            out.append(0xFF)
            out += block[start : start + _FULL]
            start += _FULL
        if i == last and n > 0 and start == n:
            break  # the frame ends on a full block: no trailing code byte
        out.append(n - start + 1)
        out += block[start:]
    return bytes(out)


def decode(encoded: bytes | bytearray | memoryview) -> bytes:
    """Decode one COBS block sequence (delimiter already removed).

    Raises ``CobsDecodeError`` on a zero byte or a code byte that runs past the end.
    """
    enc = bytes(encoded)
    n = len(enc)
    if n == 0 or 0 in enc:
        raise CobsDecodeError("empty input or zero byte inside a COBS frame")
    # Walk the chain of code bytes (only index arithmetic in Python), then rebuild vectorised:
    # every code byte but the first becomes a 0x00, unless the block before it was full (0xFF).
    pos = []
    i = 0
    while i < n:
        pos.append(i)
        i += enc[i]
    if i != n:
        raise CobsDecodeError(f"code byte at offset {pos[-1]} runs past the end ({n})")
    arr = np.frombuffer(enc, dtype=np.uint8)
    p = np.asarray(pos)
    out = arr.copy()
    keep = np.ones(n, dtype=bool)
    keep[0] = False
    out[p[1:]] = 0
    keep[p[1:][arr[p[:-1]] == 0xFF]] = False
    return out[keep].tobytes()
