"""Task `reach`: move the end effector to a commanded point.

command = target (x, y, z) in the robot's base frame. Targets are the end-effector positions
of random joint configurations (default pose + U(±target_spread)·action scale), so they are
always reachable. With d = |p_ee(q') − target| (forward kinematics from the URDF):

    r = −d + precision·exp(−d / precision_sigma) + success_bonus·[d < success_radius]
        − action_rate·|a − a_prev|²

The linear −d term pulls from far away; the exponential term (`precision`, default 0 = off;
`precision_sigma` 0.05 m) is steep near the target, so the last few centimetres pay
(a constant −d slope is drowned in exploration noise there). The built-in arm uses
precision 1.0.

The episode never terminates early (only truncates at episode_steps). `info["success"]`
is d < success_radius (5 cm by default) at that step.
"""

from __future__ import annotations

import math

import numpy as np

from robot_ppo.spec import RobotSpec, SpecError
from robot_ppo.state import RobotState
from sim.kinematics import chain_to
from sim.tasks.base import StepResult, Task


def _ee_link(spec: RobotSpec) -> str:
    link = spec.task.params.get("ee_link")
    if not isinstance(link, str):
        raise SpecError(f"{spec.name}: task 'reach' needs task.params.ee_link (a link name)")
    return link


def ee_position(spec: RobotSpec, q: np.ndarray) -> np.ndarray:
    return chain_to(spec, _ee_link(spec)).position(q)


def reward(spec: RobotSpec, state: RobotState, command: np.ndarray, action: np.ndarray,
           prev_action: np.ndarray | None, next_state: RobotState,
           extras: dict[str, np.ndarray] | None = None) -> tuple[float, bool]:
    p = spec.task.params
    d = float(np.linalg.norm(ee_position(spec, next_state.q) - command))
    r = -d + float(p.get("success_bonus", 0.5)) * (d < float(p.get("success_radius", 0.05)))
    precision = float(p.get("precision", 0.0))
    if precision:
        r += precision * math.exp(-d / float(p.get("precision_sigma", 0.05)))
    if prev_action is not None:
        r -= float(p.get("action_rate", 0.01)) * float(np.sum((action - prev_action) ** 2))
    return r, False


class ReachTask(Task):
    name = "reach"

    def __init__(self, spec: RobotSpec):
        super().__init__(spec)
        if len(spec.task.command) != 3:
            raise SpecError(f"{spec.name}: task 'reach' needs task.command with 3 names "
                            "(target x, y, z)")
        self.chain = chain_to(spec, _ee_link(spec))
        self.spread = float(self.params.get("target_spread", 0.8))
        self.radius = float(self.params.get("success_radius", 0.05))
        self.act_idx = np.array([i for i, j in enumerate(spec.joints) if j.actuated])
        self.scale = np.array(spec.action.scale)
        self.low = np.array([j.position_limits[0] for j in spec.joints])
        self.high = np.array([j.position_limits[1] for j in spec.joints])

    def reset_command(self, rng: np.random.Generator) -> np.ndarray:
        q = self.default_q.copy()
        q[self.act_idx] += rng.uniform(-self.spread, self.spread, self.act_idx.size) * self.scale
        self.command = self.chain.position(np.clip(q, self.low, self.high))
        return self.command

    def evaluate(self, state: RobotState, action: np.ndarray, prev_action: np.ndarray,
                 next_state: RobotState, extras: dict[str, np.ndarray]) -> StepResult:
        r, term = reward(self.spec, state, self.command, action, prev_action, next_state, extras)
        d = float(np.linalg.norm(self.chain.position(next_state.q) - self.command))
        return StepResult(r, term, {"distance": d, "success": d < self.radius})
