"""Frames on a byte stream: header + payload + CRC-32, COBS-stuffed, 0x00-terminated.

``encode_frame`` builds the wire bytes of one frame. ``FrameDecoder`` turns an arbitrary byte
stream (including garbage, truncation and line noise) into validated frames: it never raises
from ``feed``, never yields a frame whose COBS, CRC or length check fails (message types are
checked one layer up, so that a device can answer an unknown type with an ERROR), and after any bad
data it resynchronises at the next 0x00 delimiter. Its buffer is bounded: a run of bytes longer
than the longest legal frame is dropped up to the next delimiter.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_bridge import cobs
from firmware_bridge.crc import crc32
from firmware_bridge.layouts import (
    CRC,
    CRC_SIZE,
    FRAME_OVERHEAD,
    HEADER,
    HEADER_SIZE,
    MAX_PAYLOAD,
)

__all__ = ["MAX_WIRE_FRAME", "DecoderStats", "Frame", "FrameDecoder", "encode_frame"]

DELIMITER = b"\x00"
# Longest legal encoded frame (without its delimiter): the raw maximum, 2,048 + 10 bytes,
# plus COBS's one code byte per 254 bytes, 2,058 + 9 = 2,067.
MAX_WIRE_FRAME = cobs.max_encoded_len(MAX_PAYLOAD + FRAME_OVERHEAD)


@dataclass(frozen=True, slots=True)
class Frame:
    """One validated frame."""

    version: int
    msg_type: int
    seq: int
    payload: bytes


def encode_frame(version: int, msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """Wire bytes of one frame, delimiter included."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    raw = HEADER.pack(version, msg_type, seq & 0xFFFF, len(payload)) + payload
    raw += CRC.pack(crc32(raw))
    return cobs.encode(raw) + DELIMITER


@dataclass
class DecoderStats:
    """Counters of a ``FrameDecoder``; all monotonically increasing."""

    bytes_in: int = 0
    frames_ok: int = 0
    frames_bad: int = 0  # sum of the specific reasons below
    cobs_errors: int = 0
    crc_errors: int = 0
    length_errors: int = 0  # too short for a header, or header length != payload length
    overlong: int = 0  # runs longer than MAX_WIRE_FRAME dropped
    resyncs: int = 0  # times the decoder discarded data and realigned on a delimiter


class FrameDecoder:
    """Incremental stream -> frame decoder with a bounded buffer."""

    def __init__(self, max_frame: int = MAX_WIRE_FRAME) -> None:
        self.max_frame = max_frame
        self.stats = DecoderStats()
        self._buf = bytearray()
        self._discarding = False  # inside an overlong run: drop bytes until the next 0x00

    def reset(self) -> None:
        """Forget any partial frame (e.g. after reopening the port)."""
        self._buf.clear()
        self._discarding = False

    @property
    def pending(self) -> int:
        """Bytes held of a frame not yet terminated."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Consume ``data``; return the valid frames it completed, in order. Never raises."""
        frames: list[Frame] = []
        st = self.stats
        st.bytes_in += len(data)
        view = bytes(data)
        start = 0
        n = len(view)
        while start < n:
            end = view.find(0, start)
            if end < 0:
                chunk = view[start:]
                if self._discarding:
                    return frames
                self._buf += chunk
                if len(self._buf) > self.max_frame:
                    self._drop_overlong()
                return frames
            if self._discarding:
                self._discarding = False
            else:
                self._buf += view[start:end]
                if len(self._buf) > self.max_frame:
                    st.overlong += 1
                    st.frames_bad += 1
                    st.resyncs += 1
                elif self._buf:
                    frame = self._parse(bytes(self._buf))
                    if frame is not None:
                        frames.append(frame)
            self._buf.clear()
            start = end + 1
        return frames

    def _drop_overlong(self) -> None:
        st = self.stats
        st.overlong += 1
        st.frames_bad += 1
        st.resyncs += 1
        self._buf.clear()
        self._discarding = True

    def _parse(self, encoded: bytes) -> Frame | None:
        st = self.stats
        try:
            raw = cobs.decode(encoded)
        except cobs.CobsDecodeError:
            self._bad("cobs_errors")
            return None
        if len(raw) < FRAME_OVERHEAD:
            self._bad("length_errors")
            return None
        body = raw[:-CRC_SIZE]
        if CRC.unpack_from(raw, len(raw) - CRC_SIZE)[0] != crc32(body):
            self._bad("crc_errors")
            return None
        version, msg_type, seq, length = HEADER.unpack_from(raw)
        # the buffer bound lets a few bytes past the longest payload through (it counts
        # COBS overhead), so the payload bound is checked here, on the header's own length
        if length > MAX_PAYLOAD or length != len(body) - HEADER_SIZE:
            self._bad("length_errors")
            return None
        st.frames_ok += 1
        return Frame(version, msg_type, seq, body[HEADER_SIZE:])

    def _bad(self, counter: str) -> None:
        st = self.stats
        setattr(st, counter, getattr(st, counter) + 1)
        st.frames_bad += 1
        st.resyncs += 1
        return None
