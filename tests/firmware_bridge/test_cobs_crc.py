"""COBS and CRC against the shared vectors (test_vectors/vectors.txt, also read by the C tests:
the reference vectors of shared/reference/serial.md and long runs), plus properties."""

from __future__ import annotations

import binascii
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_bridge import cobs
from firmware_bridge.crc import CRC_CHECK_VALUE, crc32

from . import vectors

COBS = [t[1:] for t in vectors.lines("cobs")]


def test_vectors_include_the_reference_ones() -> None:
    pairs = {(raw, enc) for raw, enc in COBS}
    for raw, wire in [("00", "010100"), ("0000", "01010100"), ("001100", "0102110100"),
                      ("11220033", "031122023300"), ("11223344", "051122334400"),
                      ("11000000", "021101010100")]:  # fmt: skip
        assert (raw, wire[:-2]) in pairs
    assert len(COBS) >= 30


@pytest.mark.parametrize(("raw", "enc"), COBS, ids=range(len(COBS)))
def test_cobs_vectors(raw: str, enc: str) -> None:
    data, encoded = vectors.hexb(raw), vectors.hexb(enc)
    assert cobs.encode(data) == encoded
    assert cobs.decode(encoded) == data
    assert len(encoded) <= cobs.max_encoded_len(len(data))


def test_cobs_full_254_byte_block_has_no_trailing_code_byte() -> None:
    data = bytes(range(1, 255))
    assert len(data) == 254
    encoded = cobs.encode(data)
    assert encoded == b"\xff" + data
    assert cobs.decode(encoded) == data


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


@pytest.mark.parametrize("bad", [t[1] for t in vectors.lines("cobs_bad")])
def test_cobs_decode_rejects_invalid(bad: str) -> None:
    with pytest.raises(cobs.CobsDecodeError):
        cobs.decode(vectors.hexb(bad))


@pytest.mark.parametrize(("data", "crc"), [t[1:] for t in vectors.lines("crc")])
def test_crc_vectors(data: str, crc: str) -> None:
    assert crc32(vectors.hexb(data)) == int(crc, 16)


def test_crc_check_values() -> None:
    assert crc32(b"123456789") == CRC_CHECK_VALUE == 0xCBF43926
    # The alternative we considered and rejected (see firmware_bridge/crc.py).
    assert binascii.crc_hqx(b"123456789", 0xFFFF) == 0x29B1
