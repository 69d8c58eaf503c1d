"""Task interface: initial state, commands, and a pure reward on `RobotState`.

Every task module also exposes a module-level pure function

    reward(spec, state, command, action, prev_action, next_state, extras=None)
        -> (reward: float, terminated: bool)

that depends only on `RobotState` records, the command and the policy actions (plus, for
`walk`, simulator extras such as base linear velocity — see docs/simulation.md), so
fine-tuning can re-score logged real rollouts with exactly the training reward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState


@dataclass
class InitialState:
    q: np.ndarray
    qd: np.ndarray
    base_pos: np.ndarray | None = None
    base_quat: np.ndarray | None = None


@dataclass
class StepResult:
    reward: float
    terminated: bool
    info: dict[str, Any] = field(default_factory=dict)


class Task:
    """Base class: no command, nothing resampled during the episode."""

    name = "base"
    reward_params: frozenset[str] = frozenset({"reward_weights"})
    """`task.params` keys that shape only the reward (not the dynamics, observations,
    commands, termination or episode score): a policy trained with other values of these
    can be scored with a spec's own (`robot-ppo eval --robot`)."""

    def __init__(self, spec: RobotSpec):
        self.spec = spec
        self.params = dict(spec.task.params)
        self.default_q = np.array([j.default_position for j in spec.joints])
        self.command = np.zeros(len(spec.task.command))
        self.disturbance = 1.0
        """Scale of the initial-state perturbation (the disturbance curriculum raises it)."""

    def initial_state(self, rng: np.random.Generator) -> InitialState:
        return InitialState(self.default_q.copy(), np.zeros(self.spec.n_joints))

    def reset_command(self, rng: np.random.Generator) -> np.ndarray:
        return self.command

    def update_command(self, rng: np.random.Generator, t: float) -> np.ndarray:
        return self.command

    def evaluate(self, state: RobotState, action: np.ndarray, prev_action: np.ndarray,
                 next_state: RobotState, extras: dict[str, np.ndarray]) -> StepResult:
        raise NotImplementedError
