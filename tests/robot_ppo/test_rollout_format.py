"""Rollout log: round trip, crash safety (real SIGKILL), torn tails, CRC, flat memory, errors."""

from __future__ import annotations

import json
import math
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

from robot_ppo.action import ActionMapping, JointCommand
from robot_ppo.rollout_format import (
    CHUNK_HEADER_SIZE,
    KIND_STEPS,
    RolloutFormatError,
    RolloutWriter,
    gaussian_log_prob,
    read_rollouts,
)
from robot_ppo.spec import load_spec, spec_from_dict
from robot_ppo.state import RobotState

SPEC = load_spec("cartpole")


def _step_inputs(i: int) -> tuple[RobotState, np.ndarray, JointCommand, np.ndarray]:
    state = RobotState(t=0.5 * i, q=np.array([0.01 * i, -0.02 * i]),
                       qd=np.array([0.1, float(i)]), tau=np.array([float(i), 0.0]))
    obs = np.array([i, i + 1, i + 2, i + 3], dtype=np.float32)
    action = np.array([0.001 * i], dtype=np.float32)
    cmd = ActionMapping(SPEC).to_command(np.array([10.0 * action[0]]))
    return state, obs, cmd, action


def _write(log_dir: Path, episodes: list[tuple[int, str]], **kw) -> Path:
    """Write consecutive episodes of (length, end kind); returns the run directory."""
    w = RolloutWriter(log_dir, SPEC, {"onnx_sha256": "ab" * 32}, explore=True,
                      backpressure="block", **kw)
    i = 0
    for length, end in episodes:
        w.mark_episode("start", f"operator {i}")
        for _ in range(length):
            state, obs, cmd, a = _step_inputs(i)
            w.append(100.0 + i, state, obs, cmd, a, logp=-1.0 - i, std=np.array([0.3]),
                     safety_flags=i % 3, action_mean=a * 0.5)
            i += 1
        w.mark_episode(end, f"end {end}")  # type: ignore[arg-type]
    w.close()
    return w.run_dir


def _chunks(path: Path) -> list[tuple[int, int, int]]:
    """(offset, kind, total length) of each chunk in a segment file."""
    blob = path.read_bytes()
    out, pos = [], 0
    while pos + CHUNK_HEADER_SIZE <= len(blob):
        _m, kind, _r, _s, _n, plen, _c = struct.unpack_from("<8sHHIIII", blob, pos)
        out.append((pos, kind, CHUNK_HEADER_SIZE + plen))
        pos += CHUNK_HEADER_SIZE + plen
    return out


def test_round_trip(tmp_path: Path) -> None:
    run = _write(tmp_path, [(130, "stop"), (45, "safety_trip")], chunk_rows=16)
    data = read_rollouts(tmp_path, expected_spec_hash=SPEC.spec_hash)
    assert data.report.corrupt == [] and data.report.torn_tails == []
    assert data.report.unclosed_runs == [] and data.report.dropped_rows == 0
    assert [len(e) for e in data.episodes] == [130, 45]
    first, second = data.episodes
    assert (first.end, second.end) == ("stop", "safety_trip")
    assert not first.terminal and second.terminal
    assert first.start_reason == "operator 0" and second.end_reason == "end safety_trip"
    for k in (0, 77, 174):
        ep, j = (first, k) if k < 130 else (second, k - 130)
        state, obs, cmd, a = _step_inputs(k)
        np.testing.assert_array_equal(ep["q"][j], state.q)
        np.testing.assert_array_equal(ep["tau"][j], state.tau)
        np.testing.assert_array_equal(ep["obs"][j], obs)
        np.testing.assert_array_equal(ep["cmd_tau"][j], cmd.tau)
        np.testing.assert_array_equal(ep["cmd_mode"][j], cmd.mode)
        np.testing.assert_array_equal(ep["action"][j], a)
        np.testing.assert_array_equal(ep["action_mean"][j], a * 0.5)
        assert ep["t"][j] == 100.0 + k and ep["state_t"][j] == state.t
        assert ep["logp"][j] == np.float32(-1.0 - k) and ep["safety_flags"][j] == k % 3
        assert ep["step"][j] == k
    # the header alone describes the records: readable with json + numpy
    header = json.loads((run / "header.json").read_text())
    assert header["format"] == "robot_ppo.rollout" and header["format_version"] == 1
    assert header["spec_hash"] == SPEC.spec_hash and header["policy"]["onnx_sha256"]
    assert len(data.files) == 1 + len(list(run.glob("seg-*.rlog")))


def test_append_without_start_opens_an_episode_and_close_ends_it(tmp_path: Path) -> None:
    w = RolloutWriter(tmp_path, SPEC, {}, backpressure="block")
    state, obs, cmd, a = _step_inputs(0)
    for _ in range(5):
        w.append(0.0, state, obs, cmd, a)
    with pytest.raises(ValueError, match="kind"):
        w.mark_episode("pause", "")  # type: ignore[arg-type]
    w.close()
    (ep,) = read_rollouts(tmp_path).episodes
    assert len(ep) == 5 and ep.end == "stop" and "implicit" in ep.start_reason
    assert np.isnan(ep["logp"]).all() and np.isnan(ep["std"]).all()


def test_gaussian_log_prob_matches_product_of_1d_densities() -> None:
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=3), rng.uniform(0.1, 2.0, size=3)
    a = mean + std * rng.normal(size=3)
    dens = np.exp(-0.5 * ((a - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))
    assert gaussian_log_prob(a, mean, std) == pytest.approx(float(np.log(dens).sum()))
    batch = gaussian_log_prob(np.stack([a, mean]), mean, std)
    assert batch.shape == (2,) and batch[1] == pytest.approx(-np.log(std).sum()
                                                             - 1.5 * math.log(2 * math.pi))


_CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    from robot_ppo.action import JointCommand
    from robot_ppo.rollout_format import RolloutWriter
    from robot_ppo.spec import load_spec
    from robot_ppo.state import RobotState
    spec = load_spec("cartpole")
    w = RolloutWriter(sys.argv[1], spec, {}, chunk_seconds=float(sys.argv[2]))
    w.mark_episode("start", "test")
    st, cmd = RobotState.zeros(2), JointCommand.zeros(2)
    obs, a = np.zeros(4, np.float32), np.zeros(1, np.float32)
    i = 0
    while True:
        st.t = float(i)
        w.append(time.time(), st, obs, cmd, a)
        i += 1
        if i == 50:
            print("running", flush=True)
        time.sleep(0.004)
""")


def test_sigkill_loses_at_most_the_last_chunk(tmp_path: Path) -> None:
    chunk_seconds = 0.25
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path), str(chunk_seconds)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "running"
        time.sleep(1.5)
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    data = read_rollouts(tmp_path)
    (ep,) = data.episodes
    # every surviving step is there, in order, with no hole
    np.testing.assert_array_equal(ep["step"], np.arange(len(ep)))
    assert ep.end == "unterminated" and data.report.unclosed_runs
    # lost: the chunk being filled (≤ chunk_seconds) + at most one in flight; slack for
    # a loaded CI machine
    lost_seconds = killed_at - float(ep["t"][-1])
    assert lost_seconds < 2 * chunk_seconds + 0.5, lost_seconds


def test_torn_tail_is_skipped_and_reported(tmp_path: Path) -> None:
    run = _write(tmp_path, [(100, "stop")], chunk_rows=10)
    seg = sorted(run.glob("seg-*.rlog"))[-1]
    steps = [c for c in _chunks(seg) if c[1] == KIND_STEPS]
    offset, _k, _length = steps[-1]
    with open(seg, "r+b") as fh:  # cut the last steps chunk mid-payload
        fh.truncate(offset + CHUNK_HEADER_SIZE + 7)
    data = read_rollouts(tmp_path)
    assert len(data.report.torn_tails) == 1 and data.report.corrupt == []
    assert data.report.torn_tails[0].offset == offset
    assert data.n_steps == 90
    assert "torn tail" in data.report.summary()


@pytest.mark.parametrize("where", ["payload", "header"])
def test_flipped_byte_skips_only_that_chunk(tmp_path: Path, where: str) -> None:
    run = _write(tmp_path, [(100, "stop")], chunk_rows=10)
    seg = sorted(run.glob("seg-*.rlog"))[0]
    steps = [c for c in _chunks(seg) if c[1] == KIND_STEPS]
    offset = steps[4][0] + (CHUNK_HEADER_SIZE + 20 if where == "payload" else 14)
    blob = bytearray(seg.read_bytes())
    blob[offset] ^= 0x40
    seg.write_bytes(bytes(blob))
    with pytest.warns(UserWarning, match="rollout"):
        data = read_rollouts(tmp_path)
    assert len(data.report.corrupt) == 1 and data.report.torn_tails == []
    assert data.n_steps == 90
    # the hole splits the episode, so nothing is computed across the missing steps
    first, second = data.episodes
    assert first["step"][-1] == 39 and second["step"][0] == 50
    assert first.end == "unterminated" and "lost" in first.end_reason
    assert second.end == "stop"


def test_memory_stays_flat_over_long_runs(tmp_path: Path) -> None:
    w = RolloutWriter(tmp_path, SPEC, {}, chunk_rows=500, backpressure="block")
    state, obs, cmd, a = _step_inputs(1)
    std = np.array([0.2])
    tracemalloc.start()
    try:
        for i in range(20_000):
            w.append(float(i), state, obs, cmd, a, -1.0, std)
        after_warmup, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for i in range(80_000):
            w.append(float(i), state, obs, cmd, a, -1.0, std)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        w.close()
    # 80k more rows would be ~15 MB if kept; the pool is 4 × 500 rows × 194 B
    assert current - after_warmup < 200_000, (after_warmup, current)
    assert peak - after_warmup < 1_000_000, (after_warmup, peak)
    assert read_rollouts(tmp_path).n_steps == 100_000


def test_append_is_cheap(tmp_path: Path) -> None:
    w = RolloutWriter(tmp_path, SPEC, {}, backpressure="block")
    state, obs, cmd, a = _step_inputs(1)
    n = 5000
    t0 = time.perf_counter()
    for i in range(n):
        w.append(float(i), state, obs, cmd, a)
    per_step = (time.perf_counter() - t0) / n
    w.close()
    # a 1 kHz loop has 1 ms per step; the recorder may take a small share of it
    assert per_step < 200e-6, per_step


def test_spec_hash_mismatch_is_refused_naming_both_hashes(tmp_path: Path) -> None:
    _write(tmp_path / "a", [(5, "stop")])
    with pytest.raises(RolloutFormatError) as err:
        read_rollouts(tmp_path / "a", expected_spec_hash="0" * 64)
    assert SPEC.spec_hash in str(err.value) and "0" * 64 in str(err.value)
    other = SPEC.to_dict()
    other["task"]["episode_steps"] = 123
    w = RolloutWriter(tmp_path / "b", spec_from_dict(other), {})
    w.append(0.0, *_step_inputs(0))
    w.close()
    with pytest.raises(RolloutFormatError, match="different robot spec"):
        read_rollouts([tmp_path / "a", tmp_path / "b"])


def test_empty_or_missing_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(RolloutFormatError, match="is empty"):
        read_rollouts(tmp_path)
    with pytest.raises(RolloutFormatError, match="does not exist"):
        read_rollouts(tmp_path / "nope")
    RolloutWriter(tmp_path, SPEC, {}).close()  # a run with no steps
    with pytest.raises(RolloutFormatError, match="recorded no steps"):
        read_rollouts(tmp_path)


def test_unknown_format_version_is_refused(tmp_path: Path) -> None:
    run = _write(tmp_path, [(3, "stop")])
    header = json.loads((run / "header.json").read_text())
    header["format_version"] = 99
    (run / "header.json").write_text(json.dumps(header))
    with pytest.raises(RolloutFormatError, match="version 99"), warnings.catch_warnings():
        read_rollouts(tmp_path)
