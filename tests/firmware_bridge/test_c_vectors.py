"""The shared vectors' device sessions, run by the Python device and by the C core (board
path), and the vectors file itself kept in step with the Python implementation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from firmware_bridge.c_device import CDevice
from firmware_bridge.device import Device, DeviceConfig
from firmware_bridge.firmware_config import wire_config
from firmware_bridge.framing import FrameDecoder
from firmware_bridge.layouts import Mode
from firmware_bridge.messages import ImuState, JointCommand, PlantReading

from . import vectors
from .c_stream import output_mismatch


class FixedPlant:
    """Reports the session's latest ``sensors`` line; never moves."""

    def __init__(self, n: int, period_us: int, with_imu: bool) -> None:
        self.motor_count = n
        self.control_period_s = period_us / 1e6
        self.with_imu = with_imu
        imu = np.array([0, 0, 0, 10**9, 0, 0, 0, 0, 0, 981000])
        self.set(0, np.zeros(n), np.zeros(n), np.zeros(n), imu)

    def set(self, t_us: int, q: np.ndarray, qd: np.ndarray, tau: np.ndarray,
            imu: np.ndarray) -> None:  # fmt: skip
        got = ImuState(imu[:4] / 1e9, imu[4:7] / 1e6, imu[7:] / 1e5) if self.with_imu else None
        self.reading = PlantReading(t_us / 1e6, q / 1e6, qd / 1e5, tau / 1e5, got)

    def step(self, cmd: JointCommand) -> None:
        pass

    def read(self) -> PlantReading:
        return self.reading


def _sessions() -> list[list[tuple[str, ...]]]:
    out: list[list[tuple[str, ...]]] = []
    for t in vectors.lines():
        if t[0] == "session":
            out.append([t])
        elif t[0] in ("sensors", "exchange"):
            out[-1].append(t)
    return out


SESSIONS = _sessions()


def _config(head: tuple[str, ...]) -> tuple[DeviceConfig, FixedPlant]:
    _, _name, n, safe, imu, wd_us, _wd_ms, period_us, spec_hash, fw_id, _lw, ls = head
    si = np.array([[float.fromhex(v) for v in j.split(":")] for j in ls.split(",")])
    cfg = DeviceConfig(motor_count=int(n), q_min=si[:, 0], q_max=si[:, 1], qd_max=si[:, 2],
                       tau_max=si[:, 3], kp_max=si[:, 4], kd_max=si[:, 5], kd_safe=si[:, 6],
                       watchdog_s=int(wd_us) / 1e6, safe_mode=Mode(int(safe)),
                       spec_hash=vectors.hexb(spec_hash),
                       firmware_id=vectors.hexb(fw_id).decode())  # fmt: skip
    return cfg, FixedPlant(int(n), int(period_us), imu == "1")


def _vector_active(field: str) -> JointCommand:
    recs = [r.split(":") for r in field.split(",")]
    return JointCommand(
        mode=np.array([int(r[0]) for r in recs], dtype=np.uint8),
        q=np.array([int(r[1]) / 1e6 for r in recs]), qd=np.array([int(r[2]) / 1e5 for r in recs]),
        tau=np.array([int(r[3]) / 1e5 for r in recs]),
        kp=np.array([vectors.f32(r[4]) for r in recs]),
        kd=np.array([vectors.f32(r[5]) for r in recs]),
    )  # fmt: skip


def _set_sensors(plant: FixedPlant, t: tuple[str, ...]) -> None:
    imu = np.array(vectors.ints(t[5])) if t[5] != "-" else np.zeros(10)
    plant.set(int(t[1]), *(np.array(vectors.ints(f), dtype=np.float64) for f in t[2:5]), imu)


@pytest.mark.parametrize("session", SESSIONS, ids=[s[0][1] for s in SESSIONS])
def test_python_device_sessions(session: list[tuple[str, ...]]) -> None:
    cfg, plant = _config(session[0])
    dev, dec = Device(cfg, plant), FrameDecoder()
    for t in session[1:]:
        if t[0] == "sensors":
            _set_sensors(plant, t)
            continue
        frames = dec.feed(vectors.hexb(t[2]))
        reply = b"".join(dev.handle(f, int(t[1]) / 1e6) for f in frames)
        assert reply == vectors.hexb(t[3])
        assert output_mismatch(_vector_active(t[4]), dev.active, cfg) is None


@pytest.mark.parametrize("session", SESSIONS, ids=[s[0][1] for s in SESSIONS])
def test_c_device_sessions(session: list[tuple[str, ...]]) -> None:
    cfg, plant = _config(session[0])
    dev = CDevice(cfg, plant)
    # firmware-config's wire limits are the ones the vectors were written with.
    wc = wire_config(cfg, plant.control_period_s, plant.with_imu)
    assert [
        f"{j.q_lo}:{j.q_hi}:{j.qd_lo}:{j.qd_hi}:{j.tau_lo}:{j.tau_hi}" for j in wc.joints
    ] == [":".join(r.split(":")[:6]) for r in session[0][10].split(",")]
    for t in session[1:]:
        if t[0] == "sensors":
            _set_sensors(plant, t)
            continue
        assert dev.feed_bytes(vectors.hexb(t[2]), int(t[1]) / 1e6) == vectors.hexb(t[3])
        want = _vector_active(t[4])
        for name in ("mode", "q", "qd", "tau", "kp", "kd"):
            np.testing.assert_array_equal(getattr(dev.active, name), getattr(want, name))
    dev.close()


def test_sessions_cover_every_request_and_error() -> None:
    types = {vectors.hexb(t[2]) for s in SESSIONS for t in s if t[0] == "exchange"}
    assert len(types) > 30
    replies = [vectors.hexb(t[3]) for s in SESSIONS for t in s if t[0] == "exchange"]
    assert len(replies) >= 30


def test_vectors_file_is_what_the_python_implementation_writes() -> None:
    proc = subprocess.run([sys.executable, str(vectors.GENERATOR), "--check"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
