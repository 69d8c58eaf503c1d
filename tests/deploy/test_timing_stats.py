"""Loop timing (absolute deadlines, skipped slots), statistics and the e-stop latch."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from deploy.estop import EStop
from deploy.loop_timing import RateClock
from deploy.stats import LoopStats
from robot_ppo.errors import UserError


def test_absolute_deadlines_do_not_drift() -> None:
    clock = RateClock(500.0, spin_s=200e-6)
    t0 = clock.start()
    rng = np.random.default_rng(0)
    for _ in range(200):
        time.sleep(float(rng.uniform(0, 1.0e-3)))  # work of varying length, < one period
        clock.wait()
    elapsed = time.monotonic_ns() - t0
    # with "sleep(T)" after each cycle the 200 cycles would take ~1.5x longer
    assert clock.k >= 200
    assert elapsed == pytest.approx(clock.k * clock.period_ns, abs=3 * clock.period_ns)


def test_overrun_counts_misses_and_stays_on_the_grid() -> None:
    clock = RateClock(1000.0, spin_s=0.0)
    t0 = clock.start()
    time.sleep(0.0105)  # 10.5 periods late
    clock.wait()
    assert clock.misses >= 10
    wake = clock.wait()  # the next wake-up is back on the grid t0 + k·T
    assert (wake - t0) >= clock.k * clock.period_ns
    assert (wake - t0) - clock.k * clock.period_ns < clock.period_ns


def test_stats_summary() -> None:
    s = LoopStats(100.0, capacity=1000)
    t = 0
    for k in range(101):
        jitter = 50_000 if k == 50 else 0  # one cycle woke 50 µs late
        s.record(t + jitter, compute_ns=20_000, rtt_ns=300_000 + k)
        t += 10_000_000
    out = s.summary({"extra": 1})
    assert out["cycles"] == 101 and out["extra"] == 1
    assert out["achieved_rate_hz"] == pytest.approx(100.0, rel=1e-3)
    assert out["jitter_us"]["max"] == pytest.approx(50.0)
    assert out["jitter_us"]["p50"] == 0.0
    assert out["compute_us"]["p50"] == pytest.approx(20.0)
    assert out["bus_rtt_us"]["p50"] == pytest.approx(300.05, abs=0.1)


def test_estop_signals_and_file(tmp_path: Path) -> None:
    e = EStop(tmp_path / "stop", poll_s=0.0)
    e.install()
    try:
        assert not e.poll()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert e.poll() and e.reason == "signal SIGTERM"
    finally:
        e.uninstall()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    e2 = EStop(tmp_path / "stop", poll_s=0.0)
    assert not e2.poll()
    (tmp_path / "stop").touch()
    assert e2.poll() and "e-stop file" in e2.reason
    with pytest.raises(UserError, match="already exists"):
        EStop(tmp_path / "stop")
