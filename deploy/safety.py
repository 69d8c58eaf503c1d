"""The safety layer: the last stage every command passes before it leaves the runtime.

Whatever the policy (or a bug upstream) produces, what goes on the wire satisfies, per
actuated joint j and control cycle k:

    low_j  <= q*_j[k]   <= high_j                    (position limits)
    |q*_j[k] - q*_j[k-1]|   <= dq_max_j              (rate limit; default v_max_j / f_control)
    |qd*_j[k]|              <= v_max_j               (velocity limit)
    |tau_j[k]|              <= tau_max_j             (effort limit)
    |tau_j[k] - tau_j[k-1]| <= dtau_max_j            (torque rate limit)
    0 <= kp_j <= kp_max_j,  0 <= kd_j <= kd_max_j    (gains cannot be raised by the policy)

and every number is finite. Sensed-only joints always get MODE_OFF.

In torque mode the measured state also gates the feed-forward torque: a joint outside
its position limits, or faster than its velocity limit, gets no torque that pushes it
further that way (tau·direction > 0 is zeroed). With PD commands the device clips the
PD torque at the effort limit itself (firmware_bridge's device logic does).

Faults:
- a non-finite command (NaN/Inf from the model) holds the last safe command for up to
  `nan_hold_cycles` consecutive cycles; one more and the layer latches into damping;
- `trip(reason)` (link loss, e-stop, device watchdog) latches into damping at once.
Once latched, every later command is the damping command until `reset()`.
The damping command is MODE_DAMPING with kd = `damping_kd` on actuated joints
(tau = -kd·qd on the device), then the runtime disables the motors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from robot_ppo.action import MODE_DAMPING, MODE_OFF, MODE_PD, JointCommand
from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState


class Verdict(IntEnum):
    OK = 0
    """The command passed (possibly clipped)."""
    HELD = 1
    """The command was not finite; the last safe command was repeated."""
    LATCHED = 2
    """The layer is in the fault state: the damping command was produced."""


@dataclass(frozen=True)
class SafetyConfig:
    position_rate_limit: float | None = None
    """Largest change of a position target per cycle (rad or m); None = v_max / control rate."""
    torque_rate_limit: float | None = None
    """Largest change of a torque command per cycle (N·m or N); None = the effort limit."""
    nan_hold_cycles: int = 3
    """Consecutive non-finite commands that hold the last safe one before damping."""
    damping_kd: float = 1.0
    """kd of the damping command used as the safe state (N·m·s/rad)."""


class SafetyLayer:
    """Clamps commands to the spec's limits and owns the fault latch (see module doc)."""

    def __init__(self, spec: RobotSpec, config: SafetyConfig | None = None,
                 control_hz: float | None = None) -> None:
        cfg = config or SafetyConfig()
        if cfg.nan_hold_cycles < 0:
            raise ValueError("nan_hold_cycles must be >= 0")
        self.spec, self.config = spec, cfg
        hz = float(control_hz or spec.rates.control_hz)
        joints = spec.joints
        self.n = len(joints)
        self.act = np.array([j.actuated for j in joints])
        self.q_low = np.array([j.position_limits[0] for j in joints])
        self.q_high = np.array([j.position_limits[1] for j in joints])
        self.v_max = np.array([j.velocity_limit for j in joints])
        self.tau_max = np.array([j.effort_limit for j in joints])
        self.kp_max = np.array([j.kp for j in joints])
        self.kd_max = np.maximum(np.array([j.kd for j in joints]), cfg.damping_kd)
        self.dq_max = (np.full(self.n, cfg.position_rate_limit) if cfg.position_rate_limit
                       is not None else self.v_max / hz)
        self.dtau_max = (np.full(self.n, cfg.torque_rate_limit) if cfg.torque_rate_limit
                         is not None else self.tau_max.copy())
        self.torque_mode = spec.action.mode == "torque"
        self._last = JointCommand.zeros(self.n)
        self._damping = JointCommand.zeros(self.n)
        self._damping.mode[self.act] = MODE_DAMPING
        self._damping.kd[self.act] = cfg.damping_kd
        self._bad = 0
        self._scratch = np.zeros(self.n)
        self._act_f = self.act.astype(np.float64)
        self._act_u8 = self.act.astype(np.uint8)
        self._v_neg = -self.v_max
        self._tau_neg = -self.tau_max
        self._zeros = np.zeros(self.n)
        self._lo_list, self._hi_list = self.q_low.tolist(), self.q_high.tolist()
        self._v_list = self.v_max.tolist()
        self._act_idx = [i for i in range(self.n) if self.act[i]]
        self.latched = False
        self.reason = ""
        self.held_cycles = 0
        """Total cycles on which a non-finite command was replaced (for statistics)."""

    # ---- state ------------------------------------------------------------------------
    def reset(self, q_measured: np.ndarray) -> None:
        """Start from 'hold the measured pose, no torque' and clear the latch. Sensed-only
        joints get nothing here either (MODE_OFF, all zeros): this is the command a
        non-finite first policy output holds."""
        last = self._last
        last.mode[:] = np.where(self.act, MODE_PD, MODE_OFF)
        np.clip(np.nan_to_num(q_measured), self.q_low, self.q_high, out=last.q)
        np.multiply(last.q, self._act_f, out=last.q)
        last.qd[:] = 0.0
        last.tau[:] = 0.0
        last.kp[:] = 0.0
        last.kd[:] = 0.0
        self._bad = 0
        self.latched = False
        self.reason = ""

    def trip(self, reason: str) -> None:
        """Latch into the safe state (damping) now; `reason` is kept for the report."""
        if not self.latched:
            self.latched, self.reason = True, reason

    @property
    def last(self) -> JointCommand:
        """The last command that left the layer."""
        return self._last

    def damping(self, out: JointCommand) -> JointCommand:
        _copy(self._damping, out)
        return out

    # ---- the filter -------------------------------------------------------------------
    def filter(self, cmd: JointCommand, state: RobotState | None,
               out: JointCommand) -> Verdict:
        """Write the safe version of `cmd` into `out` (no allocation) and say what happened."""
        if self.latched:
            self.damping(out)
            _copy(out, self._last)
            return Verdict.LATCHED
        if not self._finite(cmd):
            self._bad += 1
            self.held_cycles += 1
            if self._bad > self.config.nan_hold_cycles:
                self.trip(f"non-finite policy output for {self._bad} consecutive cycles")
                self.damping(out)
                _copy(out, self._last)
                return Verdict.LATCHED
            _copy(self._last, out)
            return Verdict.HELD
        self._bad = 0
        last, s = self._last, self._scratch

        # modes: anything above DAMPING becomes DAMPING; sensed-only joints OFF (mask 0)
        np.minimum(cmd.mode, MODE_DAMPING, out=out.mode)
        np.multiply(out.mode, self._act_u8, out=out.mode)
        # position: limits, then the per-cycle step from the last sent target, then limits
        # (np.maximum/np.minimum: np.clip costs ~5 µs per call on arrays this small)
        _clip(cmd.q, self.q_low, self.q_high, out.q)
        np.subtract(last.q, self.dq_max, out=s)
        np.maximum(out.q, s, out=out.q)
        np.add(last.q, self.dq_max, out=s)
        np.minimum(out.q, s, out=out.q)
        _clip(out.q, self.q_low, self.q_high, out.q)
        _clip(cmd.qd, self._v_neg, self.v_max, out.qd)
        # torque: effort limit, per-cycle step, effort limit
        _clip(cmd.tau, self._tau_neg, self.tau_max, out.tau)
        np.subtract(last.tau, self.dtau_max, out=s)
        np.maximum(out.tau, s, out=out.tau)
        np.add(last.tau, self.dtau_max, out=s)
        np.minimum(out.tau, s, out=out.tau)
        _clip(out.tau, self._tau_neg, self.tau_max, out.tau)
        if self.torque_mode and state is not None:
            self._gate_torque(state, out.tau)
        _clip(cmd.kp, self._zeros, self.kp_max, out.kp)
        _clip(cmd.kd, self._zeros, self.kd_max, out.kd)
        # sensed-only joints: nothing at all
        for arr in (out.q, out.qd, out.tau, out.kp, out.kd):
            np.multiply(arr, self._act_f, out=arr)
        _copy(out, last)
        return Verdict.OK

    def _finite(self, cmd: JointCommand) -> bool:
        """All numbers finite (sensed-only entries included: they come from a zero template).

        0·x is 0 for every finite x and NaN for ±Inf and NaN, so x·0 (a dot product) is 0
        exactly when all of x is finite: one cheap call per array instead of isfinite + all.
        """
        z = self._zeros
        with np.errstate(invalid="ignore"):  # 0·Inf is the signal here, not a problem
            return (math.isfinite(np.dot(cmd.q, z)) and math.isfinite(np.dot(cmd.qd, z))
                    and math.isfinite(np.dot(cmd.tau, z)) and math.isfinite(np.dot(cmd.kp, z))
                    and math.isfinite(np.dot(cmd.kd, z)))

    def _gate_torque(self, state: RobotState, tau: np.ndarray) -> None:
        """Zero torque that pushes a joint further past a position or velocity limit:
        (q > high and tau > 0) or (q < low and tau < 0) or (|qd| > v_max and tau·qd > 0).
        A plain loop: for a dozen joints it beats a chain of tiny numpy calls."""
        q, qd = state.q.tolist(), state.qd.tolist()
        lo, hi, vmax = self._lo_list, self._hi_list, self._v_list
        for i in self._act_idx:
            t = tau[i]
            if ((q[i] > hi[i] and t > 0.0) or (q[i] < lo[i] and t < 0.0)
                    or (abs(qd[i]) > vmax[i] and t * qd[i] > 0.0)):
                tau[i] = 0.0


def _clip(x: np.ndarray, low: np.ndarray, high: np.ndarray, out: np.ndarray) -> None:
    """out = min(max(x, low), high) (x finite here; NaN was rejected before)."""
    np.maximum(x, low, out=out)
    np.minimum(out, high, out=out)


def _copy(src: JointCommand, dst: JointCommand) -> None:
    dst.mode[:] = src.mode
    dst.q[:] = src.q
    dst.qd[:] = src.qd
    dst.tau[:] = src.tau
    dst.kp[:] = src.kp
    dst.kd[:] = src.kd
