"""Task `balance`: keep a passive pole upright on an actuated cart.

Reward +1 per control step alive, minus the action-smoothness penalty
w·|a − a_prev|² (w = params.action_rate, default 0: the cartpole balances smoothly without
it); terminated when |pole| > max_pole_angle or |cart| > max_cart_position (the rule lives in
robot_ppo/termination.py, which the runtime applies on the robot too), so the best return
is `episode_steps`.
Joints: params `cart_joint` / `pole_joint` (names) or, by default, the first actuated joint
and the first sensed-only joint.
"""

from __future__ import annotations

import numpy as np

from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState
from robot_ppo.termination import Termination, balance_joints
from sim.tasks.base import InitialState, StepResult, Task


def reward(spec: RobotSpec, state: RobotState, command: np.ndarray | None, action: np.ndarray,
           prev_action: np.ndarray | None, next_state: RobotState,
           extras: dict[str, np.ndarray] | None = None) -> tuple[float, bool]:
    """+1 alive − w·|a − a_prev|²; terminated when the pole or the cart leaves its bounds."""
    p = spec.task.params
    # the same rule stops the runtime on the robot (robot_ppo/termination.py)
    terminated = Termination.of(spec).terminated(next_state)
    r = 1.0
    w = float(p.get("action_rate", 0.0))
    if w and prev_action is not None:
        r -= w * float(np.sum((np.asarray(action) - np.asarray(prev_action)) ** 2))
    return r, terminated


class BalanceTask(Task):
    name = "balance"

    def __init__(self, spec: RobotSpec):
        super().__init__(spec)
        balance_joints(spec)  # a spec without a cart and a pole fails here
        self.init_noise = float(self.params.get("initial_noise", 0.05))

    def initial_state(self, rng: np.random.Generator) -> InitialState:
        n, s = self.spec.n_joints, self.init_noise * self.disturbance
        return InitialState(self.default_q + rng.uniform(-s, s, n), rng.uniform(-s, s, n))

    def evaluate(self, state: RobotState, action: np.ndarray, prev_action: np.ndarray,
                 next_state: RobotState, extras: dict[str, np.ndarray]) -> StepResult:
        r, term = reward(self.spec, state, self.command, action, prev_action, next_state, extras)
        return StepResult(r, term)
