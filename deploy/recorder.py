"""Recorder hook: one call per control cycle into the rollout log (robot_ppo.rollout_format).

The loop calls `recorder.step(...)` once per cycle with buffers it already holds; the
writer copies them into a preallocated chunk (a few µs) and a background thread writes
and fsyncs. `NullRecorder` keeps the loop free of `if logging:` branches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from robot_ppo.action import JointCommand
from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState

SAFETY_FLAG_NAMES = ("held_nonfinite", "safe_stop", "device_clamped")
"""Bit i of a step's safety_flags means SAFETY_FLAG_NAMES[i] happened at that step."""
FLAG_HELD, FLAG_SAFE_STOP, FLAG_DEVICE_CLAMPED = 1, 2, 4


class Recorder(Protocol):
    def step(self, t: float, state: RobotState, obs: np.ndarray, command: JointCommand,
             action: np.ndarray, mean: np.ndarray, std: np.ndarray | None,
             logp: float | None, flags: int) -> None: ...

    def mark(self, kind: str, reason: str = "") -> None: ...

    def close(self) -> None: ...

    @property
    def location(self) -> str: ...


class NullRecorder:
    location = ""

    def step(self, t: float, state: RobotState, obs: np.ndarray, command: JointCommand,
             action: np.ndarray, mean: np.ndarray, std: np.ndarray | None,
             logp: float | None, flags: int) -> None:
        pass

    def mark(self, kind: str, reason: str = "") -> None:
        pass

    def close(self) -> None:
        pass


class RolloutRecorder:
    """Adapter onto `robot_ppo.rollout_format.RolloutWriter`."""

    def __init__(self, log_dir: str | Path, spec: RobotSpec, policy_meta: dict[str, Any],
                 explore: bool) -> None:
        from robot_ppo.rollout_format import RolloutWriter

        self.writer = RolloutWriter(log_dir, spec, policy_meta, explore=explore,
                                    safety_flag_names=SAFETY_FLAG_NAMES)
        self.location = str(self.writer.run_dir)

    def step(self, t: float, state: RobotState, obs: np.ndarray, command: JointCommand,
             action: np.ndarray, mean: np.ndarray, std: np.ndarray | None,
             logp: float | None, flags: int) -> None:
        self.writer.append(t, state, obs, command, action, logp, std, flags, action_mean=mean)

    def mark(self, kind: str, reason: str = "") -> None:
        self.writer.mark_episode(kind, reason)  # type: ignore[arg-type]

    def close(self) -> None:
        self.writer.close()
