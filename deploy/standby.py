"""The runtime's torque-off phases before anything is enabled (deploy/runtime.py's STANDBY).

`measure_standby` reads states at the target rate, timing bus round trips and inference, and
refuses a rate the link cannot sustain or a latched device fault; `await_start` then waits with
torque off for the task's start envelope, or refuses. Both act on the Runtime they are given
(its link, checks, policy and stop bookkeeping); neither ever enables the motors.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from deploy.link import LinkLost
from deploy.loop_timing import RateClock
from firmware_bridge.layouts import Status
from robot_ppo.errors import UserError

if TYPE_CHECKING:
    from deploy.runtime import Runtime

START_SETTLE_S = 0.2
"""s; the measured state must stay inside the start envelope this long before enabling, so a
pole swinging through upright (or a robot tipping through level) is not taken for a start.
Standby's own readings count, so a robot that stands still starts without waiting."""


def measure_standby(rt: Runtime) -> dict[str, float]:
    """Torque off: read states at the target rate, time round trips and inference."""
    clock = RateClock(rt.rate, rt.cfg.spin_us * 1e-6)
    n = max(10, int(rt.cfg.standby_s * rt.rate))
    rtt = np.zeros(n)
    comp = np.zeros(n)
    # bounded in wall time as well: a rate the link cannot keep would otherwise stretch
    # n reads far past standby_s before the refusal below
    t_end = time.monotonic() + max(rt.cfg.standby_s, 10.0 / rt.rate) + 0.5
    clock.start()
    got = done = 0
    for i in range(n):
        if i >= 10 and time.monotonic() > t_end:
            break
        done = i + 1
        t0 = time.perf_counter_ns()
        ds = rt.link.read()
        rtt[i] = time.perf_counter_ns() - t0
        if ds is not None:
            got += 1
            rt._last_flags, rt._last_fault = ds.flags, ds.fault_code
            if rt.checks.start_problem(rt.link.state):
                rt._outside_at = time.monotonic()
            t1 = time.perf_counter_ns()
            rt.builder.build(rt.link.state, rt.command, rt.last_action, out=rt.obs)
            rt.policy.step(rt.obs)
            comp[i] = time.perf_counter_ns() - t1
        if rt.estop.poll():
            break
        clock.wait()
    if got == 0 or rt.link.lost():
        raise UserError(f"the controller on {rt.cfg.port} answered the handshake but no "
                        "valid state arrived in standby; check the link.")
    latched = rt._last_flags & (Status.ESTOP | Status.FAULT)
    if latched and not rt.cfg.clear_latched:
        raise UserError(f"the controller reports a latched {flag_names(latched)} "
                        f"(fault code {rt._last_fault}) from before this run. Find out "
                        "why, then pass --clear-latched to clear it on enable. The robot "
                        "was not enabled.")
    period_us = 1e6 / rt.rate
    r50, r99 = (float(v) / 1e3 for v in np.percentile(rtt[:done], [50, 99]))
    c99 = float(np.percentile(comp[:done], 99)) / 1e3
    out = {"bus_rtt_p50_us": round(r50, 1), "bus_rtt_p99_us": round(r99, 1),
           "compute_p99_us": round(c99, 1), "period_us": round(period_us, 1)}
    if r99 + c99 > rt.cfg.rate_margin * period_us:
        raise UserError(
            f"{rt.rate:g} Hz cannot be sustained on {rt.cfg.port}: measured in standby "
            f"bus round trip p50 {r50:.0f} µs / p99 {r99:.0f} µs + compute p99 {c99:.0f} µs "
            f"> {rt.cfg.rate_margin:.0%} of the {period_us:.0f} µs period. Lower --rate, "
            "raise the baud rate, or lower the USB-serial latency timer (docs/jetson.md). "
            "The robot was not enabled.")
    rt.log(f"runtime: standby ok: round trip p50 {r50:.0f} µs, p99 {r99:.0f} µs; "
             f"compute p99 {c99:.0f} µs; period {period_us:.0f} µs")
    return out

def await_start(rt: Runtime) -> None:
    """Torque off: wait up to `start_timeout_s` for a state the policy was trained from
    (the task's start envelope, joints within limits), saying why while waiting; then
    refuse (a fault stop: the motors were never enabled)."""
    why = rt.checks.start_problem(rt.link.state)
    if not why and time.monotonic() - rt._outside_at >= START_SETTLE_S:
        return
    cfg = rt.cfg
    why = why or (f"the state only just entered the task's start envelope (it must stay "
                  f"there {START_SETTLE_S:g} s)")
    rt.log(f"runtime: waiting up to {cfg.start_timeout_s:g} s with torque off: {why}")
    clock = RateClock(rt.rate, cfg.spin_us * 1e-6)
    clock.start()
    t0 = time.monotonic()
    last_said = t0
    while time.monotonic() - t0 < cfg.start_timeout_s:
        if rt.estop.poll():
            rt._stop(rt.estop.reason)
            return
        if rt.link.read() is not None:
            why = rt.checks.start_problem(rt.link.state)
            now = time.monotonic()
            if why:
                rt._outside_at = now
            elif now - rt._outside_at >= START_SETTLE_S:
                rt.log("runtime: the robot is in the task's start envelope")
                return
        elif rt.link.lost():
            raise LinkLost(f"no valid state for {cfg.link_timeout_ms:g} ms in standby")
        if time.monotonic() - last_said >= 1.0:
            last_said = time.monotonic()
            rt.log(f"runtime: still waiting with torque off: {why}")
        clock.wait()
    rt._stop(f"refused to start: {why} (waited {cfg.start_timeout_s:g} s with torque "
               "off; set the robot up and run again)", fault=True)


def flag_names(flags: int) -> str:
    return "|".join(f.name or "" for f in Status if flags & f) or "none"
