"""COBS and CRC against the reference vectors in shared/reference/serial.md, plus properties."""

from __future__ import annotations

import binascii
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import cobs
from firmware_bridge.crc import CRC_CHECK_VALUE, crc32

VECTORS = [
    ("00", "01 01 00"),
    ("00 00", "01 01 01 00"),
    ("00 11 00", "01 02 11 01 00"),
    ("11 22 00 33", "03 11 22 02 33 00"),
    ("11 22 33 44", "05 11 22 33 44 00"),
    ("11 00 00 00", "02 11 01 01 01 00"),
]


@pytest.mark.parametrize(("raw", "wire"), VECTORS)
def test_cobs_reference_vectors(raw: str, wire: str) -> None:
    data, encoded = bytes.fromhex(raw), bytes.fromhex(wire)
    assert cobs.encode(data) + b"\x00" == encoded
    assert cobs.decode(encoded[:-1]) == data


def test_cobs_full_254_byte_block_has_no_trailing_code_byte() -> None:
    data = bytes(range(1, 255))
    assert len(data) == 254
    encoded = cobs.encode(data)
    assert encoded == b"\xff" + data
    assert cobs.decode(encoded) == data


@pytest.mark.parametrize("n", [253, 254, 255, 508, 509, 1000])
def test_cobs_long_runs(n: int) -> None:
    data = bytes((i % 255) + 1 for i in range(n))
    for tail in (b"", b"\x00", b"\x00\x07"):
        enc = cobs.encode(data + tail)
        assert 0 not in enc
        assert len(enc) <= cobs.max_encoded_len(n + len(tail))
        assert cobs.decode(enc) == data + tail


@given(st.binary(max_size=2000))
def test_cobs_roundtrip(data: bytes) -> None:
    enc = cobs.encode(data)
    assert 0 not in enc
    assert len(enc) <= cobs.max_encoded_len(len(data))
    assert cobs.decode(enc) == data


@given(st.binary(max_size=600))
def test_cobs_decode_garbage_raises_only_its_error(data: bytes) -> None:
    with contextlib.suppress(cobs.CobsDecodeError):
        cobs.decode(data)


@pytest.mark.parametrize("bad", [b"", b"\x00", b"\x05\x11", b"\x03\x11\x00"])
def test_cobs_decode_rejects_invalid(bad: bytes) -> None:
    with pytest.raises(cobs.CobsDecodeError):
        cobs.decode(bad)


def test_crc_check_values() -> None:
    assert crc32(b"123456789") == CRC_CHECK_VALUE == 0xCBF43926
    # The alternative we considered and rejected (see firmware_bridge/crc.py).
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1
