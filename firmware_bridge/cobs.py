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

__all__ = ["CobsDecodeError", "decode", "encode", "max_encoded_len"]

_FULL = 254  # data bytes in a full block (code 0xFF)


class CobsDecodeError(ValueError):
    """The input is not a valid COBS encoding."""


def max_encoded_len(n: int) -> int:
    """Worst-case encoded length (without delimiter) of ``n`` raw bytes."""
    return n + 1 + n // _FULL


def encode(data: bytes | bytearray | memoryview) -> bytes:
    """Encode ``data``; the result contains no 0x00 and no delimiter."""
    out = bytearray()
    blocks = bytes(data).split(b"\x00")
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
    out = bytearray()
    i = 0
    while i < n:
        code = enc[i]
        end = i + code
        if end > n:
            raise CobsDecodeError(f"code byte {code} at offset {i} runs past the end ({n})")
        out += enc[i + 1 : end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)
