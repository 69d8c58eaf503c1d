"""Write vectors.txt: the test vectors both suites read (tests/firmware_bridge/ and tests/*.c).

    python firmware_bridge/firmware/test_vectors/generate.py          # rewrite
    python firmware_bridge/firmware/test_vectors/generate.py --check  # exit 1 if stale

Format: one vector per line, space-separated fields, '#' starts a comment line. Hex fields
are lowercase, '-' is empty. Lists are ','-separated, records inside a list ':'-separated.
float32 values are written as their 8-hex-digit bit patterns (exact in both languages),
float64 SI limits (read by Python only) as float.hex().

    cobs RAW ENCODED                       ENCODED without the delimiter
    cobs_bad ENCODED                       decoding must fail
    crc DATA CRC32
    frame VERSION TYPE SEQ PAYLOAD WIRE    WIRE includes the delimiter
    command MOTORS PAYLOAD JOINTS          JOINTS: mode:q:qd:tau:kp_bits:kd_bits,...
    state MOTORS T_US FLAGS FAULT Q QD TAU IMU PAYLOAD   IMU: 10 ints or '-'
    hello MOTORS HAS_IMU WATCHDOG_MS PERIOD_US SPEC_HASH FIRMWARE_ID PAYLOAD
    error CODE DETAIL TEXT PAYLOAD
    stream WIRE OK COBS CRC LENGTH OVERLONG FRAMES   FRAMES: version:type:seq:payload,... or '-'
    session NAME MOTORS SAFE_MODE HAS_IMU WATCHDOG_US WATCHDOG_MS PERIOD_US SPEC_HASH
            FIRMWARE_ID LIMITS_WIRE LIMITS_SI      (one line; starts a device session)
        LIMITS_WIRE: q_lo:q_hi:qd_lo:qd_hi:tau_lo:tau_hi:kp_max:kd_max:kd_safe,...
        LIMITS_SI:   q_min:q_max:qd_max:tau_max:kp_max:kd_max:kd_safe,...
    sensors T_US Q QD TAU IMU              the reading the session's plant reports from now on
    exchange NOW_US REQUEST REPLY ACTIVE   REQUEST: wire bytes; REPLY: wire bytes or '-';
                                           ACTIVE: the C core's held command (mode:q:..:kd_bits)

The expected bytes come from the Python implementation (firmware_bridge/), which the Python
tests check against the same lines; the C core's held command is the Python device's with
the limits applied in wire integers (see firmware_bridge/firmware_config.py).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

# run as a script: its own folder is on sys.path, so its two siblings import by name
from session_vectors import sessions
from vector_format import hx, ints

from firmware_bridge import cobs
from firmware_bridge.codec import (
    CommandCodec,
    StateCodec,
    encode_error,
    encode_hello_reply,
)
from firmware_bridge.crc import crc32
from firmware_bridge.framing import FrameDecoder, encode_frame
from firmware_bridge.layouts import CRC, HEADER, ErrorCode, MsgType, Status
from firmware_bridge.messages import DeviceInfo, ImuState, JointCommand

OUT = Path(__file__).with_name("vectors.txt")


# --- pieces ----------------------------------------------------------------------------------


def cobs_lines() -> list[str]:
    out = ["# COBS: shared/reference/serial.md, then long runs around the 254-byte block"]
    for raw in ["00", "0000", "001100", "11220033", "11223344", "11000000"]:
        data = bytes.fromhex(raw)
        out.append(f"cobs {hx(data)} {cobs.encode(data).hex()}")
    full = bytes(range(1, 255))
    out.append(f"cobs {full.hex()} ff{full.hex()}")
    out.append(f"cobs - {cobs.encode(b'').hex()}")
    for n in (253, 254, 255, 508, 509, 1000):
        base = bytes((i % 255) + 1 for i in range(n))
        for tail in (b"", b"\x00", b"\x00\x07"):
            out.append(f"cobs {(base + tail).hex()} {cobs.encode(base + tail).hex()}")
    rng = random.Random(11)
    for _ in range(20):
        data = bytes(rng.choice([0, 0, rng.randrange(256)]) for _ in range(rng.randrange(1, 700)))
        out.append(f"cobs {data.hex()} {cobs.encode(data).hex()}")
    for bad in [b"", b"\x00", b"\x05\x11", b"\x03\x11\x00", b"\x02\x11\x05\x01"]:
        out.append(f"cobs_bad {hx(bad)}")
    return out


def crc_lines() -> list[str]:
    out = ["# CRC-32/ISO-HDLC; check value of '123456789' is cbf43926"]
    rng = random.Random(12)
    for data in [b"123456789", b"", b"\x00", b"\xff" * 4] + [
        rng.randbytes(rng.randrange(1, 300)) for _ in range(8)
    ]:
        out.append(f"crc {hx(data)} {crc32(data):08x}")
    return out


def frame_lines() -> list[str]:
    out = ["# frames of every message type, then random ones and the longest payload"]
    n = 3
    cmd = CommandCodec(n).encode(JointCommand.pd([0.5, -1.25, 3.0], kp=[20.0, 0.0, 7.5], kd=0.5))
    state = StateCodec(n).encode(1.5, np.array([0.1, 0.2, -0.3]), np.zeros(3), np.ones(3),
                                 Status.ENABLED | Status.HANDSHAKE)  # fmt: skip
    hello = encode_hello_reply(DeviceInfo(1, 3, False, 0.1, 0.002, bytes(range(8)), "fw"))
    err = encode_error(ErrorCode.UNKNOWN_TYPE, 0x7F, "unknown request type 0x7f")
    cases = [(MsgType.HELLO, b""), (MsgType.HELLO_REPLY, hello), (MsgType.ERROR, err),
             (MsgType.COMMAND, cmd), (MsgType.STATE, state), (MsgType.ENABLE, b""),
             (MsgType.DISABLE, b""), (MsgType.ESTOP, b""), (MsgType.HEARTBEAT, b""),
             (MsgType.GET_STATE, b"")]  # fmt: skip
    rng = random.Random(13)
    for i, (mt, p) in enumerate(cases):
        out.append(
            f"frame 1 {int(mt)} {i * 4099 & 0xFFFF} {hx(p)} "
            f"{encode_frame(1, mt, i * 4099, p).hex()}"
        )
    for _ in range(10):
        v, t, s = rng.randrange(256), rng.randrange(256), rng.randrange(65536)
        p = rng.randbytes(rng.randrange(0, 400))
        out.append(f"frame {v} {t} {s} {hx(p)} {encode_frame(v, t, s, p).hex()}")
    big = bytes(range(1, 256)) * 8 + b"\x01" * 8
    out.append(f"frame 1 16 7 {big.hex()} {encode_frame(1, 16, 7, big).hex()}")
    return out


def message_lines() -> list[str]:
    out = ["# payload codecs"]
    rng = np.random.default_rng(14)
    for n in (1, 3, 12):
        codec = CommandCodec(n)
        cmd = JointCommand(mode=rng.integers(0, 3, n).astype(np.uint8),
                           q=rng.normal(size=n) * 3, qd=rng.normal(size=n) * 30,
                           tau=rng.normal(size=n) * 50, kp=np.abs(rng.normal(size=n)) * 40,
                           kd=np.abs(rng.normal(size=n)))  # fmt: skip
        cmd.q[0] = 1e9  # saturates to INT32_MAX
        payload = codec.encode(cmd)
        fields = [("mode", "u1"), ("q", "<i4"), ("qd", "<i4"), ("tau", "<i4"), ("kp", "<u4")]
        rec = np.frombuffer(payload, dtype=[*fields, ("kd", "<u4")])
        joints = ",".join(
            f"{r['mode']}:{r['q']}:{r['qd']}:{r['tau']}:{int(r['kp']):08x}:{int(r['kd']):08x}"
            for r in rec
        )
        out.append(f"command {n} {payload.hex()} {joints}")
    for n, with_imu in ((1, False), (3, True), (12, False)):
        q, qd, tau = (rng.integers(-(2**31), 2**31 - 1, n) for _ in range(3))
        imu = rng.integers(-(2**31), 2**31 - 1, 10)
        t_us, flags, fault = int(rng.integers(0, 2**40)), int(rng.integers(0, 256)), 7
        sc = StateCodec(n)
        imu_state = ImuState(imu[:4] / 1e9, imu[4:7] / 1e6, imu[7:] / 1e5) if with_imu else None
        payload = sc.encode(t_us / 1e6, q / 1e6, qd / 1e5, tau / 1e5, flags, fault, imu_state)
        out.append(f"state {n} {t_us} {flags} {fault} {ints(q)} {ints(qd)} {ints(tau)} "
                   f"{ints(imu) if with_imu else '-'} {payload.hex()}")  # fmt: skip
    infos = (
        DeviceInfo(1, 12, True, 0.1, 0.002, bytes.fromhex("0123456789abcdef"), "virtual-cartpole"),
        DeviceInfo(1, 1, False, 0.0, 0.001, bytes(8), ""),
        DeviceInfo(1, 64, False, 65.0, 0.0005, b"\xff" * 8, "x" * 64),
    )
    for info in infos:
        wd_ms, period_us = (
            min(0xFFFF, round(info.watchdog_s * 1000)),
            round(info.control_period_s * 1e6),
        )
        out.append(f"hello {info.motor_count} {int(info.has_imu)} {wd_ms} {period_us} "
                   f"{info.spec_hash.hex()} {hx(info.firmware_id.encode())} "
                   f"{encode_hello_reply(info).hex()}")  # fmt: skip
    errors = (
        (1, 0x0102, "protocol version mismatch: host speaks v2, device speaks v1"),
        (3, 20, "COMMAND payload is 20 bytes, expected 21"),
        (5, -1, ""),
        (2, 2**31 - 1, "y" * 200),
    )
    for code, detail, text in errors:
        out.append(
            f"error {code} {detail} {hx(text.encode())} {encode_error(code, detail, text).hex()}"
        )
    return out


def _raw_frame(version: int, t: int, seq: int, payload: bytes, declared: int) -> bytes:
    raw = HEADER.pack(version, t, seq, declared) + payload
    return cobs.encode(raw + CRC.pack(crc32(raw))) + b"\x00"


def stream_lines() -> list[str]:
    out = ["# byte streams: good, corrupted, truncated, glued, oversize and overlong frames"]
    rng = random.Random(15)
    good = encode_frame(1, 0x23, 3)
    fixed = [
        b"\x00\x00" + good,
        b"\x01" * 2068 + b"\x00" + good,  # one byte past the longest legal frame
        b"\x01" * 2067 + b"\x00",  # exactly the longest: kept, then fails as COBS
        _raw_frame(1, 0x10, 1, bytes(range(1, 256)) * 8 + b"\x01", 2049) + good,
        _raw_frame(1, 0x10, 1, b"\x05" * 2056, 2056) + good,
        _raw_frame(1, 0x24, 2, b"ab", 3) + good,
        b"\x02\x11\x00" + good,  # a raw frame shorter than header + CRC
        good[:-1],  # no delimiter yet: pending
    ]
    for s in fixed:
        out.append(_stream_line(s))
    for _ in range(60):
        glued = bytearray()
        for _ in range(rng.randrange(1, 6)):
            f = bytearray(encode_frame(1, rng.randrange(256), rng.randrange(65536),
                                       rng.randbytes(rng.randrange(0, 300))))  # fmt: skip
            kind = rng.randrange(6)
            if kind == 0:
                for _ in range(rng.randrange(1, 5)):
                    f[rng.randrange(len(f) - 1)] ^= 1 << rng.randrange(8)
            elif kind == 1:
                del f[rng.randrange(len(f) - 1)]
            elif kind == 2:
                f[:0] = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40)))
            elif kind == 3:
                f = f[:-1]
            glued += f
        if rng.random() < 0.2:
            glued += rng.randbytes(rng.randrange(1, 50))
        out.append(_stream_line(bytes(glued)))
    return out


def _stream_line(wire: bytes) -> str:
    dec = FrameDecoder()
    frames = dec.feed(wire)
    st = dec.stats
    fs = ",".join(f"{f.version}:{f.msg_type}:{f.seq}:{hx(f.payload)}" for f in frames) or "-"
    return (f"stream {wire.hex()} {st.frames_ok} {st.cobs_errors} {st.crc_errors} "
            f"{st.length_errors} {st.overlong} {fs}")  # fmt: skip


def render() -> str:
    doc = (__doc__ or "").strip().splitlines()
    head = ["# Generated by firmware_bridge/firmware/test_vectors/generate.py; do not edit."]
    head += ["# " + line if line else "#" for line in doc[5:]]
    lines = head + cobs_lines() + crc_lines() + frame_lines() + message_lines()
    lines += stream_lines() + sessions()
    return "\n".join(lines) + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: rerun {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
