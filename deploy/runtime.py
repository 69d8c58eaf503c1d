"""The on-robot runtime: a state machine around a fixed-rate loop.

    CONNECT    open the port, handshake (protocol, motor count, spec hash); check that the
               policy's layouts and spec hash fit the robot
    STANDBY    torque off; read states for `standby_s`, timing round trips and inference;
               refuse a rate the link cannot sustain (before anything moves); then wait up
               to `start_timeout_s` for the measured state to enter the task's start
               envelope with every joint within its limits, or refuse (nothing enabled)
    RAMP       enable; interpolate from the measured pose to the default pose (position mode)
    POLICY     each cycle: state → ObservationBuilder → ONNX → ActionMapping.to_command →
               SafetyLayer → bus (one round trip) → recorder → stats. A recurrent policy's
               state starts at zeros when POLICY begins (the run is one episode) and is
               carried by OnnxPolicy from cycle to cycle (deploy/inference.py)
    SAFE_STOP  damping for `damping_s`, then disable (e-stop file: device e-stop at once)
    DONE       statistics printed as JSON and written to `stats_file`

(STANDBY's two torque-off phases live in deploy/standby.py.)

Any exit path (duration, Ctrl-C/SIGTERM, e-stop file, NaN latch, link loss (a lost
ENABLE reply included), a device watchdog/e-stop/fault report, the task's termination
(robot_ppo/termination.py, the rule that ends a simulated episode: a fallen pole or
quadruped, a cart off its rail), a measured joint beyond its limits, an exception) goes
through SAFE_STOP; a refusal in standby (start envelope, joint limits) never enables and
is reported the same way (fault, stats written, exit 1). Only numpy, onnxruntime,
firmware_bridge and the light core are imported: no torch, no PyBullet.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from deploy.estop import EStop
from deploy.inference import OnnxPolicy
from deploy.link import BusError, BusTimeout, DeviceFault, Link, LinkLost
from deploy.loop_timing import RateClock, pick_cpu, set_realtime
from deploy.providers import ProviderSettings
from deploy.ramp import Ramp, has_ramp
from deploy.recorder import (
    FLAG_DEVICE_CLAMPED,
    FLAG_HELD,
    FLAG_SAFE_STOP,
    NullRecorder,
    Recorder,
    RolloutRecorder,
)
from deploy.runtime_config import RunConfig, check_rate, parse_command, validate
from deploy.safety import SafetyConfig, SafetyLayer, Verdict
from deploy.standby import START_SETTLE_S, await_start, flag_names, measure_standby
from deploy.state_checks import StateChecks
from deploy.stats import LoopStats, write_stats
from firmware_bridge.layouts import Status
from robot_ppo.action import ActionMapping, JointCommand
from robot_ppo.errors import UserError
from robot_ppo.observation import ObservationBuilder
from robot_ppo.rollout_format import gaussian_log_prob
from robot_ppo.spec import RobotSpec, load_spec
from robot_ppo.state import RobotState

__all__ = ["START_SETTLE_S", "Runtime"]  # START_SETTLE_S now lives in deploy/standby.py


class Runtime:
    """One run of a policy on a robot (see module doc). `run()` returns the statistics."""

    def __init__(self, cfg: RunConfig, log: Callable[[str], None] | None = None,
                 print_summary: bool = True) -> None:
        self.cfg = cfg
        self.print_summary = print_summary
        self.log = log or ((lambda s: None) if cfg.quiet else
                           (lambda s: print(s, file=sys.stderr, flush=True)))
        self.phase = "init"
        self._last_flags, self._last_fault = Status(0), 0
        self.stop_reason = ""
        self.fault = False

    # ---- setup ------------------------------------------------------------------------
    def _load(self) -> None:
        cfg = self.cfg
        self.policy = OnnxPolicy(cfg.policy, cfg.provider,
                                 ProviderSettings(trt_cache_dir=cfg.trt_cache_dir), log=self.log)
        meta = self.policy.meta
        origin = str(cfg.policy)
        spec: RobotSpec = load_spec(cfg.robot) if cfg.robot else meta.robot_spec(origin)
        meta.check_robot(spec, origin, allow_hash_mismatch=cfg.allow_spec_mismatch)
        self.spec = spec
        self.rate = cfg.rate or spec.rates.control_hz
        check_rate(cfg, self.rate)
        if abs(self.rate - meta.control_hz) > 1e-9:
            self.log(f"runtime: WARNING: running at {self.rate:g} Hz, the policy was trained "
                     f"at {meta.control_hz:g} Hz")
        self.mapping = ActionMapping(spec)
        self.builder = ObservationBuilder(spec)
        self.safety = SafetyLayer(spec, SafetyConfig(
            position_rate_limit=cfg.position_rate_limit,
            torque_rate_limit=cfg.torque_rate_limit, nan_hold_cycles=cfg.nan_hold_cycles,
            damping_kd=cfg.damping_kd), control_hz=self.rate)
        self.estop = EStop(cfg.estop_file or None)
        self.checks = StateChecks(spec, cfg.joint_limit_margin, cfg.fall_guard)
        self.enabled_once = False
        self._outside_at = -1e9  # last time a standby state was outside the start envelope
        cap = int((cfg.duration or 600.0) * self.rate) + 16
        cap = min(cap, cfg.steps + 16) if cfg.steps > 0 else cap
        self.stats = LoopStats(self.rate, min(cap, 2_000_000))
        self.recorder: Recorder = NullRecorder()  # the log opens just before enabling
        # per-cycle buffers (allocated once)
        n, a = spec.n_joints, spec.act_dim
        self.obs = np.zeros(self.builder.obs_dim, dtype=np.float32)
        self.action = np.zeros(a)
        self.last_action = np.zeros(a)
        self.targets = np.zeros(a)
        self.noise = np.zeros(a)
        self.std_scaled = np.zeros(a)
        self.cmd = self.mapping.to_command(np.zeros(a))
        self.safe = JointCommand.zeros(n)
        self.rng = np.random.default_rng(cfg.seed)
        self.command = parse_command(spec, cfg.command)

    # ---- the state machine --------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        validate(cfg)  # every option range-checked before anything is opened
        self.phase = "connect"
        self._load()
        self.link = Link(cfg.port, self.spec, cfg.baudrate, cfg.connect_timeout_s,
                         cfg.link_timeout_ms / 1000.0, cfg.protocol)
        self.link.connect()
        info = self.link.bus.info
        self.log(f"runtime: connected to {cfg.port} ({info.firmware_id if info else '?'}), "
                 f"robot {self.spec.name}, policy on {self.policy.provider}, "
                 f"{self.rate:g} Hz")
        rt: dict[str, bool] = {}
        final: dict[str, Any] = {}
        standby: dict[str, float] = {}
        # signals stay routed to the e-stop latch until the safe stop is complete, so a
        # second Ctrl-C cannot interrupt the damping/disable sequence
        self.estop.install()
        try:
            try:
                self.phase = "standby"
                standby = measure_standby(self)
                if not self.stop_reason:
                    await_start(self)
                rt = set_realtime(cfg.rt_priority, pick_cpu(cfg.cpu), self.log)
                if self.stop_reason:
                    pass  # refused in standby: never enabled
                elif self.estop.poll():
                    self._stop(self.estop.reason)
                else:
                    self.phase = "ramp"
                    self._enable_and_ramp()
                if not self.stop_reason:
                    self.phase = "policy"
                    self._policy_loop()
            except (LinkLost, DeviceFault) as exc:
                self._stop(f"{type(exc).__name__}: {exc}", fault=True)
            except UserError:
                self._safe_stop_quietly()
                raise
            except BaseException as exc:
                self._stop(f"exception {type(exc).__name__}: {exc}", fault=True)
                self._safe_stop_quietly()
                raise
            if self.phase != "done":
                final = self._safe_stop()
        finally:
            self.estop.uninstall()
        summary = self.stats.summary({
            "robot": self.spec.name, "policy": str(cfg.policy), "port": cfg.port,
            "provider": self.policy.provider, "stop_reason": self.stop_reason or "duration",
            "fault": self.fault, "deadline_misses": self.clock_misses,
            "standby": standby, "realtime": rt, "safety_held_cycles": self.safety.held_cycles,
            "bus_timeouts": self.link.timeouts, "invalid_states": self.link.invalid_states,
            "final_device": final, "rollout_dir": self.recorder.location,
        })
        if self.print_summary:
            print(json.dumps(summary, sort_keys=True), flush=True)
        if cfg.stats_file:
            write_stats(cfg.stats_file, summary)
        return summary

    # ---- phases ---------------------------------------------------------------------
    def _enable_and_ramp(self) -> None:
        if self.cfg.log_dir:
            self.recorder = RolloutRecorder(self.cfg.log_dir, self.spec,
                                            self.policy.meta.to_props(), self.cfg.explore > 0)
        # from here on the device may be enabled (even when its ENABLE reply is lost):
        # every stop must go through the damping + disable sequence
        self.enabled_once = True
        try:
            ds = self.link.bus.enable()
        except DeviceFault as exc:  # it answered, not enabled: a device fault like any other
            self._stop(f"the controller refused to enable: {exc}", fault=True)
            return
        except BusTimeout:
            self.link.timeouts += 1
            self._stop(f"link: no reply to ENABLE within {self.link.bus.timeout_s * 1e3:g} ms",
                       fault=True)
            return
        except LinkLost:
            raise
        except BusError as exc:
            self._stop(f"link: bad reply to ENABLE: {exc}", fault=True)
            return
        if self.link.accept(ds) is None:  # the ENABLE reply is a state: it must be valid
            self._stop("link: the reply to ENABLE holds an invalid state", fault=True)
            return
        self.safety.reset(self.link.state.q)
        self.recorder.mark("start", "policy run")
        if not has_ramp(self.spec) or self.cfg.ramp_s <= 0:
            if self.cfg.ramp_s > 0:
                self.log("runtime: torque-mode robot without PD gains: no pose ramp")
            return
        cycles = int(self.cfg.ramp_s * self.rate)
        ramp = Ramp(self.spec, self.link.state.q.copy(), cycles)
        clock = RateClock(self.rate, self.cfg.spin_us * 1e-6)
        clock.start()
        for k in range(1, cycles + 1):
            self.safety.filter(ramp.command(k), self.link.state, self.safe)
            reply = self.link.send(self.safe)
            if self._check(reply):
                return
            clock.wait()
        self.log(f"runtime: ramp to the default pose done ({self.cfg.ramp_s:g} s)")

    def _check(self, ds: Any) -> bool:
        """Per-cycle health checks; True when the run must stop (reason recorded)."""
        if self.estop.poll():
            self._stop(self.estop.reason)
            return True
        if ds is None:
            if self.link.lost():
                self.safety.trip("link lost")
                self._stop(f"link lost: no valid state for {self.cfg.link_timeout_ms:g} ms",
                           fault=True)
                return True
            return False
        flags = ds.flags
        if flags & (Status.WATCHDOG | Status.ESTOP | Status.FAULT) or not flags & Status.ENABLED:
            self.safety.trip("device report")
            self._stop(f"device reports {flag_names(flags)} (fault code {ds.fault_code})",
                       fault=True)
            return True
        tripped, reason = self.checks.stop_reason(self.link.state)
        if tripped:
            self.safety.trip(tripped)
            self._stop(reason, fault=True)
            return True
        return False

    def observe(self, state: RobotState) -> np.ndarray:
        """The runtime's observation path: the shared ObservationBuilder (with its history
        ring) on the newest state and the last action sent, into the per-cycle buffer."""
        return self.builder.build(state, self.command, self.last_action, out=self.obs)

    def _policy_loop(self) -> None:
        cfg, pol, link, safety = self.cfg, self.policy, self.link, self.safety
        mapping, rec, stats = self.mapping, self.recorder, self.stats
        explore = cfg.explore > 0
        clip = mapping.clip
        clock = RateClock(self.rate, cfg.spin_us * 1e-6)
        self.clock = clock
        wake = clock.start()
        end_ns = wake + int(cfg.duration * 1e9) if cfg.duration > 0 else None
        cycles = 0
        state = link.state
        seen = RobotState.zeros(self.spec.n_joints, self.spec.imu)
        # one episode per run: a recurrent policy starts from a zero state (no-op otherwise)
        pol.reset_state()
        while True:
            # observation from the newest state (the reply to the previous command); `seen`
            # keeps this cycle's arrays for the recorder (the link swaps in new ones on reply)
            seen.t, seen.q, seen.qd, seen.tau = state.t, state.q, state.qd, state.tau
            seen.base_quat, seen.base_ang_vel = state.base_quat, state.base_ang_vel
            self.observe(state)
            targets, mean, std = pol.step(self.obs)
            logp = None
            if explore:
                # a ~ N(mean, (std·scale)²); the targets then come from the shared mapping
                self.rng.standard_normal(out=self.noise)
                np.multiply(std, cfg.explore, out=self.std_scaled)
                np.multiply(self.noise, self.std_scaled, out=self.action)
                self.action += mean
                mapping.targets(self.action, out=self.targets)
                logp = float(gaussian_log_prob(self.action, mean, self.std_scaled))
            else:
                self.action[:] = mean
                self.targets[:] = targets
            np.clip(self.action, -clip, clip, out=self.last_action)
            mapping.to_command(self.targets, out=self.cmd)
            verdict = safety.filter(self.cmd, state, self.safe)
            t_send = time.monotonic_ns()
            ds = link.send(self.safe)
            rtt = time.monotonic_ns() - t_send
            flags = (FLAG_HELD if verdict == Verdict.HELD else 0) | \
                    (FLAG_SAFE_STOP if verdict == Verdict.LATCHED else 0)
            if ds is not None and ds.flags & Status.CLAMPED:
                flags |= FLAG_DEVICE_CLAMPED
            rec.step(wake / 1e9, seen, self.obs, self.safe, self.action, mean,
                     self.std_scaled if explore else None, logp, flags)
            stats.record(wake, t_send - wake, rtt)
            if verdict == Verdict.LATCHED:
                self._stop(f"safety: {safety.reason}", fault=True)
                break
            if self._check(ds):
                break
            cycles += 1
            if cycles == cfg.steps:
                break
            wake = clock.wait()
            stats.misses = clock.misses
            if end_ns is not None and wake >= end_ns:
                break

    @property
    def clock_misses(self) -> int:
        clock = getattr(self, "clock", None)
        return clock.misses if clock is not None else 0

    # ---- stopping -------------------------------------------------------------------
    def _stop(self, reason: str, fault: bool = False) -> None:
        if not self.stop_reason:
            self.stop_reason, self.fault = reason, fault
            self.log(f"runtime: stopping: {reason}")

    def _safe_stop(self) -> dict[str, Any]:
        """Damping for `damping_s` (or the device e-stop for the e-stop file), then disable.
        Returns the device's final flags as seen on the wire."""
        self.phase = "safe_stop"
        link, safety = self.link, self.safety
        safety.trip(self.stop_reason or "end of run")
        kind = "safety_trip" if self.fault else "stop"
        self.recorder.mark(kind, self.stop_reason or "duration")
        last = None
        try:
            if self.estop.file and self.estop.reason.startswith("e-stop file"):
                last = link.bus.estop()
            elif not self.enabled_once:
                last = link.bus.disable()  # refused in standby: nothing to damp
            else:
                clock = RateClock(self.rate, self.cfg.spin_us * 1e-6)
                clock.start()
                for _ in range(int(self.cfg.damping_s * self.rate)):
                    safety.filter(self.cmd, None, self.safe)
                    try:
                        reply = link.send(self.safe)
                    except DeviceFault:
                        break  # already disabled by the device: its safe state holds
                    if reply is None and link.lost():
                        break
                    clock.wait()
                last = link.bus.disable()
        except Exception as exc:  # the link may be gone: the device watchdog takes over
            self.log(f"runtime: safe stop could not reach the device ({exc}); its watchdog "
                     "puts the motors in the safe state")
        confirmed = link.close()
        if last is not None:
            confirmed = confirmed or not last.enabled
        self.recorder.close()
        self.phase = "done"
        out: dict[str, Any] = {"disabled_confirmed": bool(confirmed)}
        if last is not None:
            out.update(flags=flag_names(last.flags), enabled=last.enabled,
                       estopped=last.estopped, watchdog=last.watchdog_tripped)
        self.log("runtime: safe stop done; motors " +
                 ("disabled" if confirmed else "NOT confirmed disabled (device watchdog)"))
        return out

    def _safe_stop_quietly(self) -> None:
        link = getattr(self, "link", None)
        if link is None or self.phase in ("done", "connect"):
            return
        if self.phase == "standby":  # never enabled: just leave it disabled
            link.close()
            self.recorder.close()
            self.phase = "done"
            return
        with contextlib.suppress(Exception):
            self._safe_stop()
