"""The device-session vectors of vectors.txt (``session``, ``sensors`` and ``exchange`` lines).

Each session scripts requests to a Python ``Device`` on a plant that never moves and writes
every request's wire bytes, the reply's, and the command the C core must then hold (the
Python device's, with the limits applied in wire integers). Run through generate.py.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from vector_format import f32bits, hx, ints

from firmware_bridge.codec import CommandCodec
from firmware_bridge.device import Device, DeviceConfig
from firmware_bridge.firmware_config import WireConfig, wire_config
from firmware_bridge.framing import FrameDecoder, encode_frame
from firmware_bridge.layouts import Mode, MsgType
from firmware_bridge.messages import ImuState, JointCommand, PlantReading

__all__ = ["FixedPlant", "session_lines", "sessions", "wire_active"]


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
