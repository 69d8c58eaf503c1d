"""The exact length bounds of a frame (docs/protocol.md 1.1 and 1.4), at and past each edge.

A payload is 0..2048 bytes; a frame whose header says more is a length error even when its
CRC is valid. The decoder's buffer holds at most the COBS-encoded length of the longest raw
frame, 2,058 bytes (6 header + 2,048 payload + 4 CRC): 2,058 + ceil(2,058 / 254) = 2,067.
"""

from __future__ import annotations

import pytest

from firmware_bridge import cobs
from firmware_bridge.crc import crc32
from firmware_bridge.framing import MAX_WIRE_FRAME, Frame, FrameDecoder, encode_frame
from firmware_bridge.layouts import CRC, HEADER, MAX_PAYLOAD


def _forged(length: int, fill: bytes = b"\x00") -> bytes:
    """Wire bytes of a frame with a `length`-byte payload and a valid CRC, built by hand so
    that `encode_frame`'s own bound does not stop it. Zero bytes cost COBS nothing, so a
    zero-filled payload of up to 2,056 bytes fits the decoder's buffer."""
    raw = HEADER.pack(1, 0x10, 3, length) + fill * length
    raw += CRC.pack(crc32(raw))
    return cobs.encode(raw) + b"\x00"


def test_bounds_match_the_protocol_document() -> None:
    assert MAX_PAYLOAD == 2048
    assert MAX_WIRE_FRAME == 2067


@pytest.mark.parametrize("fill", [b"\x00", b"\x5a"])
@pytest.mark.parametrize("length", [0, 1, MAX_PAYLOAD - 1, MAX_PAYLOAD])
def test_legal_payload_lengths_are_accepted(length: int, fill: bytes) -> None:
    dec = FrameDecoder()
    assert dec.feed(_forged(length, fill)) == [Frame(1, 0x10, 3, fill * length)]
    assert dec.stats.frames_bad == 0


@pytest.mark.parametrize("length", range(MAX_PAYLOAD + 1, MAX_PAYLOAD + 9))
def test_payload_past_2048_is_a_length_error_even_with_a_valid_crc(length: int) -> None:
    wire = _forged(length)
    assert len(wire) - 1 <= MAX_WIRE_FRAME  # short enough to reach the parser
    dec = FrameDecoder()
    assert dec.feed(wire) == []
    assert dec.stats.length_errors == 1
    # and the decoder is in sync for the next frame
    assert dec.feed(encode_frame(1, 0x10, 4, b"ok")) == [Frame(1, 0x10, 4, b"ok")]


def test_first_payload_too_long_for_the_buffer_is_dropped_as_overlong() -> None:
    dec = FrameDecoder()
    assert dec.feed(_forged(MAX_PAYLOAD + 9)) == []
    assert dec.stats.overlong == 1


def test_encoder_refuses_a_payload_past_2048() -> None:
    with pytest.raises(ValueError, match="2048"):
        encode_frame(1, 0x10, 0, b"\x01" * (MAX_PAYLOAD + 1))


def test_longest_run_is_buffered_and_one_more_byte_is_overlong() -> None:
    # exactly MAX_WIRE_FRAME non-zero bytes reach the parser (they fail COBS/CRC, not length)
    dec = FrameDecoder()
    dec.feed(b"\x01" * MAX_WIRE_FRAME + b"\x00")
    assert dec.stats.overlong == 0 and dec.stats.frames_bad == 1
    # one more byte is dropped as overlong, and the next frame still decodes
    dec = FrameDecoder()
    got = dec.feed(b"\x01" * (MAX_WIRE_FRAME + 1) + b"\x00" + encode_frame(1, 2, 5, b"x"))
    assert dec.stats.overlong == 1
    assert got == [Frame(1, 2, 5, b"x")]
