"""Logged episodes -> replay windows.

A logged row k holds the state s_k the host read (at device time T_k) and the command c_k
it then sent. Which command moved the robot between two logged states depends on when the
device applies a command relative to the state it answers with (`Timing`):

  reply     the device answers a command with the state it measured on receiving it and
            applies the command from then on (a real controller; `robot-ppo serve` in real
            time). So c_k acts from T_{k+1} to T_{k+2}: between rows j and j+1 the command
            in force is c_{j−1}.
  lockstep  the device steps one control period per command before answering
            (`serve --lockstep`): between rows j and j+1 it is c_j.

Between two rows the plant may have moved 0, 1 or more control periods (a loaded host
misses deadlines; the device timestamps say how many): n_j = round((T_{j+1} − T_j) / P).
A gap of more than `MAX_GAP_PERIODS` (or time going backwards) cuts the episode into
segments. Each segment is cut into back-to-back windows of `horizon` rows; a window starts
from its first row's state and is compared with the next `horizon` logged states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec

Timing = Literal["reply", "lockstep"]
LAG: dict[str, int] = {"reply": 1, "lockstep": 0}
"""Rows between a command and the first period it acts in (see module doc)."""

MAX_GAP_PERIODS = 5
"""A longer silence between two logged states (a stalled link) cuts the episode."""

SCALE_FLOOR = 1e-3
"""Smallest per-dimension spread (m, rad, m/s, rad/s): a joint that never moved must not
turn rounding into a large normalized error."""

COMMAND_FIELDS = ("cmd_mode", "cmd_q", "cmd_qd", "cmd_tau", "cmd_kp", "cmd_kd")


@dataclass(frozen=True)
class Window:
    """`horizon` logged steps replayed from one logged state."""

    q0: np.ndarray
    qd0: np.ndarray
    prior: int
    """Index (into ReplaySet.commands) of the command in force before the window starts:
    it fills the simulator's action-latency line."""
    commands: np.ndarray
    """(P,) command index for each simulated control period, in order."""
    periods: np.ndarray
    """(horizon,) control periods to simulate before each compared state."""
    target: np.ndarray
    """(horizon, D) logged (q, q̇) of every joint at the compared states."""
    episode: int
    """Which logged episode (0-based, in reading order) the window comes from."""


@dataclass(frozen=True)
class ReplaySet:
    commands: dict[str, np.ndarray]
    """Every logged command, fields of `COMMAND_FIELDS` without `cmd_`, each (M, n_joints)."""
    windows: list[Window]
    scale: np.ndarray
    """(D,) spread of each compared dimension over the logged states (>= SCALE_FLOOR)."""
    dims: list[str]
    """Names of the compared dimensions: JOINT.q then JOINT.qd, bus order."""
    episodes: int
    steps: int
    """Logged steps read (all episodes)."""
    segments: int
    horizon: int
    timing: str
    total_windows: int
    """Windows before --max-windows picked an evenly spaced subset."""


def _segments(rows: np.ndarray, period: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(rows, periods between consecutive rows) of each gap-free stretch of an episode."""
    steps = np.rint(np.diff(rows["state_t"]) / period).astype(np.int64)
    finite = np.all(np.isfinite(rows["q"]), axis=1) & np.all(np.isfinite(rows["qd"]), axis=1)
    bad = (steps < 0) | (steps > MAX_GAP_PERIODS) | ~finite[1:] | ~finite[:-1]
    out = []
    start = 0
    for cut in [*np.flatnonzero(bad).tolist(), len(rows) - 1]:
        # rows start..cut are joined by good gaps (the gap after `cut` is the bad one); a
        # lone row (a non-finite one among them) holds nothing to replay
        if cut > start:
            out.append((rows[start:cut + 1], steps[start:cut]))
        start = cut + 1
    return out


def build_replay_set(episodes: list[Any], spec: RobotSpec, horizon: int, timing: Timing,
                     max_windows: int) -> ReplaySet:
    """Windows from logged episodes (`robot_ppo.rollout_format.Episode`); see module doc."""
    if horizon < 1:
        raise UserError("--horizon must be >= 1")
    lag = LAG[timing]
    period = 1.0 / spec.rates.control_hz
    cmd_parts: dict[str, list[np.ndarray]] = {f[4:]: [] for f in COMMAND_FIELDS}
    windows: list[Window] = []
    states: list[np.ndarray] = []
    offset = 0
    n_segments = 0
    for e, ep in enumerate(episodes):
        for rows, steps in _segments(ep.rows, period):
            n_segments += 1
            for f in COMMAND_FIELDS:
                cmd_parts[f[4:]].append(np.asarray(rows[f], dtype=np.float64))
            x = np.concatenate([rows["q"], rows["qd"]], axis=1)
            states.append(x)
            # windows start where the command in force is logged (k >= lag)
            for k in range(lag, len(rows) - horizon, horizon):
                per = steps[k:k + horizon]
                cmds = np.repeat(np.arange(k, k + horizon) - lag, per) + offset
                windows.append(Window(rows["q"][k].copy(), rows["qd"][k].copy(),
                                      offset + max(k - lag - 1, 0), cmds, per.copy(),
                                      x[k + 1:k + 1 + horizon].copy(), e))
            offset += len(rows)
    if not windows:
        longest = max((len(ep.rows) for ep in episodes), default=0)
        raise UserError(f"the logs hold no stretch of {horizon + lag + 1} consecutive steps "
                        f"to replay (--horizon {horizon}; the longest episode has {longest} "
                        "steps): record longer runs or lower --horizon.")
    total = len(windows)
    if total > max_windows > 0:
        pick = np.unique(np.linspace(0, total - 1, max_windows).round().astype(int))
        windows = [windows[i] for i in pick]
    names = [j.name for j in spec.joints]
    allx = np.concatenate(states)
    return ReplaySet(
        commands={k: np.concatenate(v) for k, v in cmd_parts.items()}, windows=windows,
        scale=np.maximum(allx.std(axis=0), SCALE_FLOOR),
        dims=[f"{n}.q" for n in names] + [f"{n}.qd" for n in names],
        episodes=len(episodes), steps=sum(len(ep.rows) for ep in episodes),
        segments=n_segments, horizon=horizon, timing=timing, total_windows=total)
