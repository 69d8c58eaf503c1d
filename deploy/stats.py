"""Loop statistics: pre-allocated per-cycle samples, summarized once at exit.

Per cycle the runtime records (all in ns, written into fixed arrays; no allocation):
  period   wake-up time minus the previous wake-up (jitter = period − T)
  compute  observation + inference + safety + command encode (cycle start → send)
  rtt      bus round trip of the command/state exchange
The summary gives the achieved rate, |period − T| p50/p99/max, deadline misses and the
p50/p99 of compute and round trip, in µs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from robot_ppo.atomic_write import atomic_write


class LoopStats:
    """Fixed-capacity recorder; samples past `capacity` overwrite the oldest (ring)."""

    def __init__(self, rate_hz: float, capacity: int) -> None:
        self.rate_hz = float(rate_hz)
        self.period_ns = 1e9 / rate_hz
        self.capacity = max(1, int(capacity))
        self.period = np.zeros(self.capacity, dtype=np.int64)
        self.compute = np.zeros(self.capacity, dtype=np.int64)
        self.rtt = np.zeros(self.capacity, dtype=np.int64)
        self.n = 0
        self.first_ns = 0
        self.last_ns = 0
        self.misses = 0

    def record(self, wake_ns: int, compute_ns: int, rtt_ns: int) -> None:
        i = self.n % self.capacity
        self.period[i] = wake_ns - self.last_ns if self.n else int(self.period_ns)
        self.compute[i] = compute_ns
        self.rtt[i] = rtt_ns
        if self.n == 0:
            self.first_ns = wake_ns
        self.last_ns = wake_ns
        self.n += 1

    def summary(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        m = min(self.n, self.capacity)
        out: dict[str, Any] = {"target_rate_hz": self.rate_hz, "cycles": self.n,
                               "deadline_misses": int(self.misses)}
        if self.n >= 2:
            out["achieved_rate_hz"] = round((self.n - 1) * 1e9 / (self.last_ns - self.first_ns),
                                            3)
        else:
            out["achieved_rate_hz"] = 0.0
        if m >= 2:
            jitter = np.abs(self.period[1:m] - self.period_ns) / 1e3
            out["jitter_us"] = _pct(jitter, (50, 99, 100))
        if m >= 1:
            out["compute_us"] = _pct(self.compute[:m] / 1e3, (50, 99))
            out["bus_rtt_us"] = _pct(self.rtt[:m] / 1e3, (50, 99))
        out.update(extra or {})
        return out


def _pct(x: np.ndarray, qs: tuple[int, ...]) -> dict[str, float]:
    names = {50: "p50", 99: "p99", 100: "max"}
    return {names[q]: round(float(np.percentile(x, q)), 2) for q in qs}


def write_stats(path: str | Path, summary: dict[str, Any]) -> None:
    """Write the loop statistics atomically (robot_ppo/atomic_write.py): a crash while
    writing leaves the previous file whole."""
    atomic_write(path, json.dumps(summary, indent=2, sort_keys=True) + "\n")
