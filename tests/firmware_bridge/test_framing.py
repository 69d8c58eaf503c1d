"""Frames on a stream: the shared vectors, round trips, a fuzzer over garbage and corruption."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.framing import MAX_WIRE_FRAME, Frame, FrameDecoder, encode_frame
from firmware_bridge.layouts import MAX_PAYLOAD

from . import vectors

frames = st.builds(
    Frame,
    version=st.integers(0, 255),
    msg_type=st.integers(0, 255),
    seq=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=400),
)


@given(st.lists(frames, max_size=8), st.integers(1, 64))
def test_frames_roundtrip_any_chunking(fs: list[Frame], chunk: int) -> None:
    wire = b"".join(encode_frame(f.version, f.msg_type, f.seq, f.payload) for f in fs)
    dec = FrameDecoder()
    got: list[Frame] = []
    for i in range(0, len(wire), chunk):
        got += dec.feed(wire[i : i + chunk])
    assert got == fs
    assert dec.stats.frames_bad == 0
    assert dec.pending == 0


def test_max_payload_frame_fits_decoder() -> None:
    payload = bytes(range(1, 256)) * (MAX_PAYLOAD // 255) + b"\x01" * (MAX_PAYLOAD % 255)
    wire = encode_frame(1, 0x10, 7, payload)
    assert len(wire) - 1 <= MAX_WIRE_FRAME
    assert FrameDecoder().feed(wire) == [Frame(1, 0x10, 7, payload)]


@settings(max_examples=200)
@given(st.binary(max_size=3000), st.integers(1, 97))
def test_garbage_never_raises_and_decoder_stays_bounded(garbage: bytes, chunk: int) -> None:
    dec = FrameDecoder()
    for i in range(0, len(garbage), chunk):
        dec.feed(garbage[i : i + chunk])
        assert dec.pending <= MAX_WIRE_FRAME
    # Whatever came before, a delimiter followed by a good frame is decoded.
    good = encode_frame(1, 0x11, 42, b"after garbage")
    assert dec.feed(b"\x00" + good)[-1] == Frame(1, 0x11, 42, b"after garbage")


def test_corrupted_frames_are_never_accepted_and_decoder_resyncs() -> None:
    rng = random.Random(1234)
    dec = FrameDecoder()
    originals: set[Frame] = set()
    accepted = 0
    for i in range(3000):
        f = Frame(1, rng.randrange(256), i & 0xFFFF, rng.randbytes(rng.randrange(0, 300)))
        originals.add(f)
        wire = bytearray(encode_frame(f.version, f.msg_type, f.seq, f.payload))
        kind = rng.randrange(4)
        if kind == 0:  # flip 1..4 bits anywhere but the delimiter
            for _ in range(rng.randrange(1, 5)):
                wire[rng.randrange(len(wire) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1:  # drop a byte
            del wire[rng.randrange(len(wire) - 1)]
        elif kind == 2:  # prepend line noise without a delimiter
            wire[:0] = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40)))
        got = dec.feed(bytes(wire))
        for g in got:
            assert g in originals  # never a frame that was not sent
        if kind == 3:
            assert got == [f]
        accepted += len(got)
        if kind == 2:
            # The noise glued onto the frame kills it; the next frame must come through.
            nxt = encode_frame(1, 0x24, 9, b"")
            assert dec.feed(nxt) == [Frame(1, 0x24, 9, b"")]
    assert dec.stats.frames_bad > 0
    assert dec.stats.crc_errors + dec.stats.cobs_errors + dec.stats.length_errors > 0
    assert accepted >= 3000 // 4


def test_overlong_run_is_dropped_until_next_delimiter() -> None:
    dec = FrameDecoder()
    assert dec.feed(b"\x01" * (MAX_WIRE_FRAME + 10)) == []
    assert dec.pending == 0
    assert dec.feed(b"\x02" * 100) == []  # still inside the overlong run
    good = encode_frame(1, 0x23, 3)
    assert dec.feed(b"\x00" + good) == [Frame(1, 0x23, 3, b"")]
    assert dec.stats.overlong == 1


FRAMES = [t[1:] for t in vectors.lines("frame")]
STREAMS = [t[1:] for t in vectors.lines("stream")]


@pytest.mark.parametrize(("version", "msg_type", "seq", "payload", "wire"), FRAMES)
def test_frame_vectors(version: str, msg_type: str, seq: str, payload: str, wire: str) -> None:
    """The shared vectors (the C tests read the same lines)."""
    f = Frame(int(version), int(msg_type), int(seq), vectors.hexb(payload))
    assert encode_frame(f.version, f.msg_type, f.seq, f.payload) == vectors.hexb(wire)
    assert FrameDecoder().feed(vectors.hexb(wire)) == [f]


@pytest.mark.parametrize("fields", STREAMS, ids=range(len(STREAMS)))
def test_stream_vectors(fields: tuple[str, ...]) -> None:
    """Corrupted, truncated, glued, oversize and overlong streams from the shared file."""
    wire, ok, cobs_e, crc_e, length_e, overlong, frames = fields
    want = [] if frames == "-" else [
        Frame(int(v), int(t), int(s), vectors.hexb(p))
        for v, t, s, p in (f.split(":") for f in frames.split(","))
    ]  # fmt: skip
    dec = FrameDecoder()
    got: list[Frame] = []
    for b in vectors.hexb(wire):  # byte at a time, as a UART interrupt delivers them
        got += dec.feed(bytes([b]))
    assert got == want
    st = dec.stats
    assert (st.frames_ok, st.cobs_errors, st.crc_errors, st.length_errors, st.overlong) == (
        int(ok), int(cobs_e), int(crc_e), int(length_e), int(overlong))
    assert st.frames_bad == st.cobs_errors + st.crc_errors + st.length_errors + st.overlong


def test_stream_vectors_cover_every_failure() -> None:
    totals = [sum(int(f[i]) for f in STREAMS) for i in range(1, 6)]
    assert all(totals), totals  # frames ok, COBS, CRC, length and overlong errors all occur
