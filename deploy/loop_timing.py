"""Fixed-rate timing on the monotonic clock, and real-time scheduling when the OS allows.

Deadlines are absolute: cycle k starts at t_k = t_0 + k·T. Computing the next wake-up as
"now + T" would add every cycle's lateness to all later cycles (drift); with absolute
deadlines a late cycle costs only itself. When a cycle overruns one or more whole periods,
the missed slots are skipped (counted as deadline misses) rather than run back to back.

Waiting: `time.sleep` to within `spin_s` of the deadline, then a short busy-wait, because
the kernel's sleep granularity (~50-100 µs without a real-time kernel) is a large fraction
of a 1 ms period.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable


class RateClock:
    """Absolute-deadline scheduler for a loop at `rate_hz`."""

    def __init__(self, rate_hz: float, spin_s: float = 100e-6) -> None:
        if rate_hz <= 0:
            raise ValueError("rate must be positive")
        self.period_ns = round(1e9 / rate_hz)
        self.spin_ns = round(spin_s * 1e9)
        self.start_ns = 0
        self.k = 0
        self.misses = 0

    def start(self) -> int:
        """Cycle 0 starts now; returns its time (ns)."""
        self.start_ns = time.monotonic_ns()
        self.k = 0
        self.misses = 0
        return self.start_ns

    def deadline_ns(self) -> int:
        """Start time of the next cycle."""
        return self.start_ns + (self.k + 1) * self.period_ns

    def wait(self) -> int:
        """Block until the next cycle's start; returns the wake-up time (ns).

        If the next deadline has already passed, the cycle overran: count every skipped
        slot as a miss and realign to the grid (t_0 + k·T) without sleeping.
        """
        target = self.deadline_ns()
        now = time.monotonic_ns()
        if now > target:
            late = (now - target) // self.period_ns + 1
            self.misses += int(late)
            self.k += int(late)
            # now lies inside slot k's period: run it at once (late), keep the grid
            return now
        self.k += 1
        remaining = target - now - self.spin_ns
        if remaining > 0:
            time.sleep(remaining / 1e9)
        while (now := time.monotonic_ns()) < target:
            pass
        return now


def set_realtime(priority: int, cpu: int | None, log: Callable[[str], None]) -> dict[str, bool]:
    """Ask for SCHED_FIFO at `priority` (0 = don't) and pin to `cpu` (None = don't).

    Either may be refused (no CAP_SYS_NICE / RLIMIT_RTPRIO, a container, another OS);
    that is logged once and the loop runs with normal scheduling.
    """
    result = {"sched_fifo": False, "affinity": False}
    if priority > 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
            result["sched_fifo"] = True
        except (AttributeError, PermissionError, OSError) as exc:
            log(f"runtime: real-time priority (SCHED_FIFO {priority}) not available "
                f"({exc.__class__.__name__}: {exc}); running with normal scheduling. "
                "See docs/jetson.md (limits.conf rtprio / CAP_SYS_NICE).")
    if cpu is not None:
        try:
            os.sched_setaffinity(0, {cpu})
            result["affinity"] = True
        except (AttributeError, PermissionError, OSError, ValueError) as exc:
            log(f"runtime: cannot pin to CPU {cpu} ({exc}); running unpinned.")
    return result


def pick_cpu(requested: int) -> int | None:
    """-1 = the last CPU this process may use (isolcpus setups isolate the last cores),
    -2 = no pinning, N = CPU N."""
    if requested == -2:
        return None
    if requested >= 0:
        return requested
    try:
        return max(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
