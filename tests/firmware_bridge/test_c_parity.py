"""The C device and the Python device answer the same byte stream identically.

Same stream, same scripted plant readings: every decoded frame, every reply byte, every
motor output and every decoder counter must agree (a clamped C target may differ from the
Python one by less than one wire LSB, always on the inside of the limit: the C core clamps
in wire integers).
"""

from __future__ import annotations

import pytest

from firmware_bridge.c_device import CDevice, CFrameDecoder
from firmware_bridge.device import Device, DeviceConfig
from firmware_bridge.framing import FrameDecoder
from firmware_bridge.layouts import Mode

from .c_stream import LIMITS, ScriptedPlant, fuzzed_stream, output_mismatch

N = 3


def _config(safe_mode: Mode) -> DeviceConfig:
    return DeviceConfig(motor_count=N, watchdog_s=0.1005, safe_mode=safe_mode,
                        spec_hash=bytes.fromhex("00112233445566778899"), firmware_id="parity",
                        **LIMITS)  # type: ignore[arg-type]


def run_parity(seed: int, n_frames: int, safe_mode: Mode = Mode.DAMPING, imu: bool = False) -> int:
    cfg = _config(safe_mode)
    py_plant, c_plant = ScriptedPlant(N, seed, imu), ScriptedPlant(N, seed, imu)
    py, cd = Device(cfg, py_plant), CDevice(cfg, c_plant)
    py_dec, c_dec = FrameDecoder(), CFrameDecoder()
    replies = 0
    for k, (t, chunk) in enumerate(fuzzed_stream(seed, n_frames, N)):
        pf, cf = py_dec.feed(chunk), c_dec.feed(chunk)
        assert cf == pf, f"chunk {k}: decoded frames differ"
        for frame in pf:
            step = k % 2 == 0  # lockstep and realtime-style handling, interleaved
            pr, cr = py.handle(frame, t, step), cd.handle(frame, t, step)
            assert cr == pr, f"chunk {k}: reply to {frame} differs:\n C  {cr.hex()}\n Py {pr.hex()}"
            assert output_mismatch(cd.active, py.active, cfg) is None
            replies += 1
        if k % 7 == 0:
            assert cd.poll(t + 0.0004) == py.poll(t + 0.0004)
        assert cd.flags() == py.flags()
        assert (cd.enabled, cd.watchdog_tripped, cd.estopped) == (
            py.enabled, py.watchdog_tripped, py.estopped)
    assert c_dec.stats == py_dec.stats
    assert c_dec.pending == py_dec.pending
    assert cd.commands_applied == py.commands_applied
    assert cd.commands_rejected == py.commands_rejected
    assert len(c_plant.commands) == len(py_plant.commands)
    for c, p in zip(c_plant.commands, py_plant.commands, strict=True):
        assert output_mismatch(c, p, cfg) is None
    # The stream exercised what it is meant to.
    st = py_dec.stats
    assert st.crc_errors and st.cobs_errors and st.length_errors and st.overlong
    assert py.commands_applied and py.commands_rejected and py.trip_time is not None
    cd.close()
    return replies


@pytest.mark.parametrize("seed", [1, 2])
def test_c_and_python_devices_agree_on_a_fuzzed_stream(seed: int) -> None:
    replies = run_parity(seed, 3_000, Mode.DAMPING if seed == 1 else Mode.OFF, imu=seed == 2)
    assert replies > 2_500


@pytest.mark.slow
def test_c_and_python_devices_agree_on_100k_fuzzed_frames() -> None:
    assert run_parity(100, 110_000) > 100_000


def test_board_path_matches_python_device() -> None:
    """fw_device_rx_byte (decoder inside the core, replies through the UART seam)."""
    cfg = _config(Mode.DAMPING)
    py_plant, c_plant = ScriptedPlant(N, 5), ScriptedPlant(N, 5)
    py, cd = Device(cfg, py_plant), CDevice(cfg, c_plant)
    dec = FrameDecoder()
    for t, chunk in fuzzed_stream(5, 2_000, N):
        want = b"".join(py.handle(f, t) for f in dec.feed(chunk))
        assert cd.feed_bytes(chunk, t) == want
        assert output_mismatch(cd.active, py.active, cfg) is None
    assert cd.commands_applied == py.commands_applied > 0
