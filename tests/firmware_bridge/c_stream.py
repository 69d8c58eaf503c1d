"""Shared by the C-device tests: a scripted plant and a fuzzed request stream generator."""

from __future__ import annotations

import random
import struct

import numpy as np

from firmware_bridge import cobs
from firmware_bridge.codec import Q_LSB, QD_LSB, TAU_LSB
from firmware_bridge.crc import crc32
from firmware_bridge.device import DeviceConfig
from firmware_bridge.framing import encode_frame
from firmware_bridge.layouts import CRC, HEADER, MsgType
from firmware_bridge.messages import ImuState, JointCommand, PlantReading

LIMITS = dict(q_min=[-1.5, -0.25, -3.14159265], q_max=[1.5, 2.0, 3.14159265],
              qd_max=[10.0, 3.3, 21.0], tau_max=[5.0, 1.25, 33.3], kp_max=[50.0, 7.7, 1e3],
              kd_max=[2.0, 0.33, 9.0], kd_safe=[1.0, 0.7, 0.05])  # fmt: skip


class ScriptedPlant:
    """A plant whose readings come from a seeded RNG and do not depend on the commands, so
    two devices that disagree on one command still see the same next reading; it records
    every command it was stepped with (the motor outputs)."""

    def __init__(self, motor_count: int, seed: int, with_imu: bool = False) -> None:
        self.motor_count = motor_count
        self.control_period_s = 0.001
        self.rng = np.random.default_rng(seed)
        self.with_imu = with_imu
        self.steps = 0
        self.commands: list[JointCommand] = []
        self._draw()

    def _draw(self) -> None:
        n, r = self.motor_count, self.rng
        scale = np.where(r.random(3) < 0.05, 1e6, 3.0)  # now and then past the int32 range
        self.q, self.qd, self.tau = r.normal(size=(3, n)) * scale[:, None]

    def step(self, cmd: JointCommand) -> None:
        self.commands.append(cmd.copy())
        self.steps += 1
        self._draw()

    def read(self) -> PlantReading:
        imu = None
        if self.with_imu:
            imu = ImuState(np.array([0.1, -0.2, 0.3, 0.9]), np.array([0.5, -1e4, 2.0]),
                           np.array([0.0, 0.1, 9.81]))  # fmt: skip
        return PlantReading(self.steps * self.control_period_s, self.q.copy(), self.qd.copy(),
                            self.tau.copy(), imu)


def _command_payload(rng: random.Random, n: int) -> bytes:
    out = b""
    for _ in range(n):
        mode = rng.choice([3, 4, 255]) if rng.random() < 0.02 else rng.choice([1, 1, 2, 0])
        vals = [rng.choice([rng.randint(-3_000_000, 3_000_000), rng.randint(-2**31, 2**31 - 1)])
                for _ in range(3)]  # fmt: skip
        gains = [rng.choice([rng.uniform(0, 60), rng.uniform(-5, 0), 1e9, float("nan"),
                             float("inf"), 0.0, -0.0]) if rng.random() < 0.15
                 else rng.uniform(0, 60) for _ in range(2)]  # fmt: skip
        out += struct.pack("<Biiiff", mode, *vals, *gains)
    return out


def _raw_frame(version: int, t: int, seq: int, payload: bytes, declared: int) -> bytes:
    raw = HEADER.pack(version, t, seq, declared) + payload
    return cobs.encode(raw + CRC.pack(crc32(raw))) + b"\x00"


def fuzzed_stream(seed: int, n_frames: int, motor_count: int = 3) -> list[tuple[float, bytes]]:
    """(time s, bytes) chunks: valid requests of every type, bad payloads, unknown types,
    wrong versions, corrupted, truncated, oversize and glued frames, line noise."""
    rng = random.Random(seed)
    t = 1.0
    out: list[tuple[float, bytes]] = []
    types = [MsgType.COMMAND] * 8 + [MsgType.HEARTBEAT] * 2 + [
        MsgType.HELLO, MsgType.ENABLE, MsgType.ENABLE, MsgType.DISABLE, MsgType.ESTOP,
        MsgType.GET_STATE, 0x02, 0x11, 0x7F]  # fmt: skip
    for i in range(n_frames):
        # Whole milliseconds against a 100.5 ms watchdog: no gap lands within 1 µs of it.
        t += rng.choice([0, 1, 1, 1, 2, 5, 20, 90, 101, 150]) / 1000.0
        mt = rng.choice(types)
        version = 1 if rng.random() < 0.97 else rng.choice([0, 2, 255])
        if mt == MsgType.COMMAND:
            k = motor_count if rng.random() < 0.95 else rng.choice([0, 1, motor_count + 1])
            payload = _command_payload(rng, k)
        else:
            payload = rng.randbytes(rng.choice([0, 0, 0, 3]))
        kind = rng.random()
        if kind < 0.01:  # payload past 2,048 bytes with a valid CRC: a length error
            big = rng.randbytes(rng.randint(2049, 2056))
            wire = _raw_frame(1, mt, i & 0xFFFF, big, len(big))
        elif kind < 0.02:  # declared length disagrees with the bytes
            wire = _raw_frame(1, mt, i & 0xFFFF, payload, (len(payload) + 1) & 0xFFFF)
        else:
            wire = encode_frame(version, mt, i & 0xFFFF, payload)
        b = bytearray(wire)
        kind = rng.random()
        if kind < 0.03:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b) - 1)] ^= 1 << rng.randrange(8)
        elif kind < 0.05:
            del b[rng.randrange(len(b) - 1)]
        elif kind < 0.06:
            b[:0] = bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40)))
        elif kind < 0.065:
            b[:0] = b"\x01" * rng.randint(2060, 2200) + b"\x00"  # an overlong run, then the frame
        elif kind < 0.07:
            b = b[:-1]  # no delimiter: glued onto the next frame
        out.append((t, bytes(b)))
    return out


def output_mismatch(c: JointCommand, p: JointCommand, cfg: DeviceConfig) -> str | None:
    """None if ``c`` (C device) matches ``p`` (Python device), else what differs.

    Equal, except a clamped target: inside the limit and within one LSB of it."""
    lim = cfg.limits
    if not np.array_equal(c.mode, p.mode):
        return f"mode {c.mode} != {p.mode}"
    bounds = {"q": (lim["q_min"], lim["q_max"], Q_LSB),
              "qd": (-lim["qd_max"], lim["qd_max"], QD_LSB),
              "tau": (-lim["tau_max"], lim["tau_max"], TAU_LSB)}  # fmt: skip
    for name, (lo, hi, lsb) in bounds.items():
        cv, pv = getattr(c, name), getattr(p, name)
        at = (pv == lo) | (pv == hi)
        ok = np.where(at, (np.abs(cv - pv) < 1.0 / lsb) & (cv >= lo) & (cv <= hi), cv == pv)
        if not ok.all():
            return f"{name}: C {cv} vs Python {pv}"
    for name, hi in (("kp", lim["kp_max"]), ("kd", lim["kd_max"])):
        cv, pv = getattr(c, name), getattr(p, name)
        at = pv == hi
        ok = np.where(at, (cv <= hi) & (np.abs(cv - pv) <= 1e-6 * hi), cv == np.float32(pv))
        if not ok.all():
            return f"{name}: C {cv} vs Python {pv}"
    return None
