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
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge import cobs
from firmware_bridge.codec import (
    CommandCodec,
    StateCodec,
    encode_error,
    encode_hello_reply,
)
from firmware_bridge.crc import crc32
from firmware_bridge.device import Device, DeviceConfig
from firmware_bridge.firmware_config import WireConfig, wire_config
from firmware_bridge.framing import FrameDecoder, encode_frame
from firmware_bridge.layouts import CRC, HEADER, ErrorCode, Mode, MsgType, Status
from firmware_bridge.messages import DeviceInfo, ImuState, JointCommand, PlantReading

OUT = Path(__file__).with_name("vectors.txt")


def hx(b: bytes) -> str:
    return b.hex() if b else "-"


def f32bits(x: float) -> str:
    return struct.pack("<f", x)[::-1].hex()  # big-endian hex of the bit pattern


def ints(a: object) -> str:
    return ",".join(str(int(v)) for v in np.asarray(a).reshape(-1))


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


# --- device sessions ---------------------------------------------------------------------------


class FixedPlant:
    """Reports one reading until told otherwise; never moves (sessions test the protocol)."""

    def __init__(self, n: int, with_imu: bool) -> None:
        self.motor_count = n
        self.control_period_s = 0.002
        self.with_imu = with_imu
        self.set(0, np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64),
                 np.array([0, 0, 0, 10**9, 0, 0, 0, 0, 0, 981000]))  # fmt: skip

    def set(
        self, t_us: int, q: np.ndarray, qd: np.ndarray, tau: np.ndarray, imu: np.ndarray
    ) -> None:
        self.raw = (t_us, q, qd, tau, imu)
        self.reading = PlantReading(
            t_us / 1e6, q / 1e6, qd / 1e5, tau / 1e5,
            ImuState(imu[:4] / 1e9, imu[4:7] / 1e6, imu[7:] / 1e5) if self.with_imu else None,
        )  # fmt: skip

    def step(self, cmd: JointCommand) -> None:
        pass

    def read(self) -> PlantReading:
        return self.reading


def wire_active(dev: Device, wc: WireConfig, last_applied: JointCommand | None) -> str:
    """The command the C core holds, from the Python device's state and the wire limits."""
    recs = []
    for j, jl in enumerate(wc.joints):
        if dev.active is dev.safe_command or last_applied is None:
            mode, q, qd, tau, kp = wc.safe_mode, 0, 0, 0, 0.0
            kd = jl.kd_safe if wc.safe_mode == Mode.DAMPING else 0.0
        else:
            c = last_applied
            mode = int(c.mode[j])
            q = min(max(round(c.q[j] * 1e6), jl.q_lo), jl.q_hi)
            qd = min(max(round(c.qd[j] * 1e5), jl.qd_lo), jl.qd_hi)
            tau = min(max(round(c.tau[j] * 1e5), jl.tau_lo), jl.tau_hi)
            kp = min(max(float(c.kp[j]), 0.0), jl.kp_max)
            kd = min(max(float(c.kd[j]), 0.0), jl.kd_max)
        recs.append(f"{mode}:{q}:{qd}:{tau}:{f32bits(kp)}:{f32bits(kd)}")
    return ",".join(recs)


def session_lines(name: str, cfg: DeviceConfig, with_imu: bool, script: list[tuple]) -> list[str]:
    plant = FixedPlant(cfg.motor_count, with_imu)
    dev = Device(cfg, plant)
    wc = wire_config(cfg, plant.control_period_s, with_imu)
    lw = ",".join(f"{j.q_lo}:{j.q_hi}:{j.qd_lo}:{j.qd_hi}:{j.tau_lo}:{j.tau_hi}:"
                  f"{f32bits(j.kp_max)}:{f32bits(j.kd_max)}:{f32bits(j.kd_safe)}"
                  for j in wc.joints)  # fmt: skip
    lim = cfg.limits
    ls = ",".join(":".join(float(lim[k][j]).hex() for k in
                           ("q_min", "q_max", "qd_max", "tau_max", "kp_max", "kd_max", "kd_safe"))
                  for j in range(cfg.motor_count))  # fmt: skip
    out = [f"# session {name}",
           f"session {name} {wc.motor_count} {wc.safe_mode} {int(with_imu)} {wc.watchdog_us} "
           f"{wc.watchdog_ms} {wc.control_period_us} {wc.spec_hash.hex()} {hx(wc.firmware_id)} "
           f"{lw} {ls}"]  # fmt: skip
    codec = CommandCodec(cfg.motor_count)
    last: JointCommand | None = None
    seq = 0
    dec = FrameDecoder()
    for item in script:
        if item[0] == "sensors":
            _, t_us, q, qd, tau, imu = item
            plant.set(t_us, np.asarray(q), np.asarray(qd), np.asarray(tau), np.asarray(imu))
            out.append(f"sensors {t_us} {ints(q)} {ints(qd)} {ints(tau)} "
                       f"{ints(imu) if with_imu else '-'}")  # fmt: skip
            continue
        now_us, t, payload = item[1], item[2], item[3] if len(item) > 3 else b""
        version = item[4] if len(item) > 4 else 1
        seq += 1
        wire = encode_frame(version, t, seq, payload)
        frames = dec.feed(wire)
        applied = dev.commands_applied
        reply = dev.handle(frames[0], now_us / 1e6) if frames else b""
        if dev.commands_applied != applied:
            last = codec.decode(payload)
        out.append(f"exchange {now_us} {wire.hex()} {hx(reply)} {wire_active(dev, wc, last)}")
    return out


def _cmd(
    q: list[float], kp: float, kd: float, tau: float = 0.0, qd: float = 0.0, mode: Mode = Mode.PD
) -> bytes:
    c = JointCommand.pd(q, kp=kp, kd=kd, qd=qd, tau=tau)
    c.mode[:] = int(mode)
    return CommandCodec(len(q)).encode(c)


def sessions() -> list[str]:
    lim: dict[str, Any] = dict(
        q_min=[-1.5, -3.14159265],
        q_max=[1.5, 3.14159265],
        qd_max=[10.0, 2.2],
        tau_max=[5.0, 1.25],
        kp_max=[50.0, 7.7],
        kd_max=[2.0, 0.33],
        kd_safe=[1.0, 0.7],
    )
    cfg = DeviceConfig(
        motor_count=2,
        watchdog_s=0.1,
        spec_hash=bytes.fromhex("0123456789abcdef"),
        firmware_id="vectors",
        **lim,
    )
    C, HB, EN, DIS, ES, GS, HELLO = (MsgType.COMMAND, MsgType.HEARTBEAT, MsgType.ENABLE,
                                      MsgType.DISABLE, MsgType.ESTOP, MsgType.GET_STATE,
                                      MsgType.HELLO)  # fmt: skip
    ok = _cmd([0.5, -0.5], 20.0, 0.5)
    clamp = _cmd([9.0, -9.0], 80.0, 5.0, tau=100.0, qd=-50.0)
    bad_mode = bytearray(ok)
    bad_mode[21] = 3
    nan_gain = struct.pack("<Biiiff", 1, 0, 0, 0, 1.0, 0.5) + struct.pack(
        "<Biiiff", 1, 0, 0, 0, 1.0, float("nan")
    )
    z = [0, 0]
    script: list[tuple] = [
        ("sensors", 123456, [100000, -2000000], [5, -5], [100, -100], [0] * 10),
        ("x", 1000, GS),
        ("x", 1000, C, ok),
        ("x", 1000, HB),
        ("x", 1000, EN),
        ("x", 1500, HELLO, b"", 2),
        ("x", 1500, HELLO),
        ("x", 2000, C, ok),
        ("x", 3000, EN),
        ("x", 4000, C, ok),
        ("x", 5000, C, clamp),
        ("x", 6000, C, ok[:-1]),
        ("x", 7000, C, bytes(bad_mode)),
        ("x", 8000, C, nan_gain),
        ("x", 9000, 0x7F),
        ("x", 9500, MsgType.STATE),
        ("x", 50000, HB),
        ("x", 150000, GS),
        ("x", 150001, GS),
        ("x", 250001, GS),
        ("x", 250002, C, ok),
        ("x", 260000, HB),
        ("sensors", 999999999, [2**31 - 1, -(2**31)], z, z, [0] * 10),
        ("x", 270000, EN),
        ("x", 280000, C, clamp),
        ("x", 290000, ES),
        ("x", 300000, C, ok),
        ("x", 310000, EN),
        ("x", 320000, C, ok),
        ("x", 330000, DIS),
        ("x", 340000, C, ok),
        ("x", 350000, HELLO),
    ]
    out = session_lines("damping", cfg, False, script)
    cfg_off = DeviceConfig(
        motor_count=2, watchdog_s=0.0, safe_mode=Mode.OFF, firmware_id="vectors-off", **lim
    )
    script_off: list[tuple] = [
        ("sensors", 5, [1, 2], [3, 4], [5, 6], [1, 2, 3, 1000000000, 4, 5, 6, 7, 8, 981000]),
        ("x", 10, HELLO),
        ("x", 20, EN),
        ("x", 30, C, clamp),
        ("x", 10_000_000, C, ok),
        ("x", 10_000_001, GS),
        ("x", 10_000_002, DIS),
    ]
    out += session_lines("off-imu-nowatchdog", cfg_off, True, script_off)
    return out


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
