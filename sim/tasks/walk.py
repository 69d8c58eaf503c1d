"""Task `walk`: a legged robot tracks a commanded forward velocity.

command = (vx,) or (vx, vy, yaw_rate) in the base frame, resampled every
`resample_s` seconds from the `vx_range` (vy, yaw_rate: `vy_range`, `yaw_range`).
Reward (legged_gym-style terms, each weighted and multiplied by the control period dt):

    tracking_lin  w·exp(−|v*_xy − v_xy|² / σ²)      σ² = tracking_sigma (0.25)
    tracking_ang  w·exp(−(ω*_z − ω_z)² / σ²)
    lin_vel_z     w·v_z²           ang_vel_xy   w·|ω_xy|²
    orientation   w·|g_xy|²        (projected gravity)
    torques       w·|τ|²           dof_acc      w·|(q̇' − q̇)/dt|²
    action_rate   w·|a − a_prev|²  alive        w
    feet_air_time w·Σ_feet (t_air − T) at each foot's touchdown, 0 while |v*_xy| ≤ 0.1
                  (t_air: how long the foot was off the ground before it, T: `air_time`
                  0.5 s; legged_gym's reward for stepping, off here by default)
Weights: `WEIGHTS` below, each overridable by `task.params.reward_weights` ({term: w});
w = 0 drops a term.
The sum is clipped at 0 (`only_positive_rewards`, as legged_gym) so that falling early is never
the best way to stop paying penalties. Terminated when |roll| > max_roll,
|pitch| > max_pitch, or (sim only) base height < min_height.

Episode score (`info`, every step, for the episode so far; read at its last step):

    tracking     1 − min(1, |mean_t(v_xy − v*_xy)| / max(mean_t |v*_xy|, min_speed))
                 over the steps after the first `settle_s` (1 s): the fraction of the
                 commanded planar speed the robot delivers on average (yaw is not scored)
    performance  (steps survived / episode_steps) · tracking ∈ [0, 1]
    success      ran the full episode without falling and tracking ≥ success_tracking (0.8)
ADR and the disturbance curriculum (sim/env.py) use `performance` and `success`. Why not
the return: a robot that stands still earns ~13 of the ~23 a perfect walker earns
(exp-shaped tracking, yaw and alive terms paid in full), so an ADR signal of "survived"
or "return" grows the ranges for policies that never walk (docs/robustness.md).

The base linear velocity and height are not in `RobotState` (no sensor measures them
directly): the function reads them from `extras["base_lin_vel"]` / `extras["base_pos"]`;
on robot logs pass an estimate (odometry, motion capture) or the tracking term is zero.
Likewise `extras["touchdown_air_time"]` (per foot: its air time if it touched down this
step, else 0), which `WalkTask` derives from the simulator's foot contacts; without it the
feet_air_time term is zero.
"""

from __future__ import annotations

import math

import numpy as np

from robot_ppo.spec import RobotSpec, SpecError
from robot_ppo.state import RobotState, projected_gravity
from robot_ppo.termination import Termination
from sim.tasks.base import InitialState, StepResult, Task

WEIGHTS = {"tracking_lin": 1.0, "tracking_ang": 0.5, "lin_vel_z": -2.0, "ang_vel_xy": -0.05,
           "orientation": -1.0, "torques": -0.0002, "dof_acc": -2.5e-7, "action_rate": -0.01,
           "alive": 0.5, "feet_air_time": 0.0}


def _weights(spec: RobotSpec) -> dict[str, float]:
    over = spec.task.params.get("reward_weights") or {}
    unknown = set(over) - set(WEIGHTS)
    if unknown:
        raise SpecError(f"{spec.name}: task.params.reward_weights: unknown term(s) "
                        f"{sorted(unknown)}; known: {', '.join(WEIGHTS)}")
    return {k: float(over.get(k, w)) for k, w in WEIGHTS.items()}


def settle_steps(spec: RobotSpec) -> int:
    """Control steps at an episode's start that the walk score ignores (`settle_s`, 1 s)."""
    return round(float(spec.task.params.get("settle_s", 1.0)) * spec.rates.control_hz)


def _command3(command: np.ndarray) -> np.ndarray:
    c = np.zeros(3)
    c[:min(3, len(command))] = command[:3]
    return c


def reward_terms(spec: RobotSpec, state: RobotState, command: np.ndarray, action: np.ndarray,
                 prev_action: np.ndarray | None, next_state: RobotState,
                 extras: dict[str, np.ndarray] | None = None) -> dict[str, float]:
    """Unweighted reward terms (see module doc)."""
    if next_state.base_quat is None or next_state.base_ang_vel is None:
        raise ValueError("task 'walk' needs an IMU (base_quat, base_ang_vel) in RobotState")
    p = spec.task.params
    sigma = float(p.get("tracking_sigma", 0.25))
    dt = 1.0 / spec.rates.control_hz
    cmd = _command3(command)
    ang = next_state.base_ang_vel
    extras = extras or {}
    terms = {"alive": 1.0}
    if "base_lin_vel" in extras:
        v = extras["base_lin_vel"]
        terms["tracking_lin"] = math.exp(-float(np.sum((cmd[:2] - v[:2]) ** 2)) / sigma)
        terms["lin_vel_z"] = float(v[2] ** 2)
    terms["tracking_ang"] = math.exp(-float((cmd[2] - ang[2]) ** 2) / sigma)
    terms["ang_vel_xy"] = float(ang[0] ** 2 + ang[1] ** 2)
    g = projected_gravity(next_state.base_quat)
    terms["orientation"] = float(g[0] ** 2 + g[1] ** 2)
    terms["torques"] = float(np.sum(next_state.tau ** 2))
    terms["dof_acc"] = float(np.sum(((next_state.qd - state.qd) / dt) ** 2))
    if prev_action is not None:
        terms["action_rate"] = float(np.sum((action - prev_action) ** 2))
    if "touchdown_air_time" in extras:
        air = np.asarray(extras["touchdown_air_time"], dtype=float)
        moving = float(np.hypot(cmd[0], cmd[1])) > 0.1
        # pays a step whose swing lasted longer than T, charges a shorter one (shuffling);
        # nothing while commanded to stand
        terms["feet_air_time"] = float(np.sum(air[air > 0] - float(p.get("air_time", 0.5)))
                                       ) if moving else 0.0
    return terms


def reward(spec: RobotSpec, state: RobotState, command: np.ndarray, action: np.ndarray,
           prev_action: np.ndarray | None, next_state: RobotState,
           extras: dict[str, np.ndarray] | None = None) -> tuple[float, bool]:
    terms = reward_terms(spec, state, command, action, prev_action, next_state, extras)
    dt = 1.0 / spec.rates.control_hz
    p = spec.task.params
    weights = _weights(spec)
    r = dt * sum(weights[k] * v for k, v in terms.items())
    if p.get("only_positive_rewards", True):
        # legged_gym's only_positive_rewards: a negative step reward would teach the policy
        # to end the episode early (fall) to stop the penalties
        r = max(r, 0.0)
    # roll/pitch: the rule the runtime stops the robot with (robot_ppo/termination.py)
    term = Termination.of(spec).terminated(next_state)
    if extras and "base_pos" in extras:
        term = term or float(extras["base_pos"][2]) < float(p.get("min_height", 0.15))
    return r, bool(term)


class WalkTask(Task):
    name = "walk"
    reward_params = frozenset({"reward_weights", "tracking_sigma", "air_time"})

    def __init__(self, spec: RobotSpec):
        super().__init__(spec)
        if spec.base != "floating" or not spec.imu:
            raise SpecError(f"{spec.name}: task 'walk' needs base: floating and imu: true")
        if not 1 <= len(spec.task.command) <= 3:
            raise SpecError(f"{spec.name}: task 'walk' needs task.command = [vx] or "
                            "[vx, vy, yaw_rate]")
        self.ranges = [tuple(self.params.get(k, d)) for k, d in
                       (("vx_range", (0.0, 0.6)), ("vy_range", (0.0, 0.0)),
                        ("yaw_range", (0.0, 0.0)))][:len(spec.task.command)]
        self.resample_s = float(self.params.get("resample_s", 10.0))
        _weights(spec)  # unknown reward_weights keys fail at construction
        self._next = self.resample_s
        self.settle_steps = settle_steps(spec)
        self.min_speed = float(self.params.get("min_speed", 0.1))
        self.success_tracking = float(self.params.get("success_tracking", 0.8))
        self._dt = 1.0 / spec.rates.control_hz
        self._air = np.zeros(len(self.params.get("feet", [])))
        self._reset_score()

    def _reset_score(self) -> None:
        self._air[:] = 0.0
        self._steps = 0
        self._scored = 0
        self._err_sum = np.zeros(2)     # Σ (v_xy − v*_xy) over the scored steps
        self._cmd_speed_sum = 0.0       # Σ |v*_xy|

    def _score(self, vel_xy: np.ndarray | None, terminated: bool) -> dict[str, float | bool]:
        """Update the episode's tracking score with this step (module doc)."""
        self._steps += 1
        if vel_xy is not None and self._steps > self.settle_steps:
            cmd = _command3(self.command)[:2]
            self._err_sum += vel_xy - cmd
            self._cmd_speed_sum += float(np.hypot(cmd[0], cmd[1]))
            self._scored += 1
        if self._scored == 0:
            tracking = 0.0
        else:
            err = float(np.hypot(*self._err_sum)) / self._scored
            ref = max(self._cmd_speed_sum / self._scored, self.min_speed)
            tracking = 1.0 - min(1.0, err / ref)
        full = self.spec.task.episode_steps
        performance = min(self._steps, full) / full * tracking
        success = (not terminated) and self._steps >= full and tracking >= self.success_tracking
        return {"tracking": tracking, "performance": performance, "success": success}

    def _touchdowns(self, contacts: np.ndarray) -> np.ndarray:
        """Per foot: its air time if it is on the ground now after time in the air, else 0.
        A foot's air time counts the control steps it spent off the ground."""
        down = np.asarray(contacts) > 0.5
        out = np.where(down, self._air, 0.0)
        self._air = np.where(down, 0.0, self._air + self._dt)
        return out

    def initial_state(self, rng: np.random.Generator) -> InitialState:
        return InitialState(self.default_q.copy(), np.zeros(self.spec.n_joints),
                            np.array(self.spec.base_position), np.array([0.0, 0.0, 0.0, 1.0]))

    def reset_command(self, rng: np.random.Generator) -> np.ndarray:
        self._next = self.resample_s
        self.command = np.array([rng.uniform(lo, hi) for lo, hi in self.ranges])
        self._reset_score()  # called once at every episode's start (sim/env.py reset)
        return self.command

    def update_command(self, rng: np.random.Generator, t: float) -> np.ndarray:
        if t >= self._next:
            self._next += self.resample_s
            self.command = np.array([rng.uniform(lo, hi) for lo, hi in self.ranges])
        return self.command

    def evaluate(self, state: RobotState, action: np.ndarray, prev_action: np.ndarray,
                 next_state: RobotState, extras: dict[str, np.ndarray]) -> StepResult:
        info: dict[str, float | bool] = {}
        if extras and "contacts" in extras:
            air = self._touchdowns(extras["contacts"])
            extras = {**extras, "touchdown_air_time": air}
            # for the gait metrics of `robot-ppo eval` (sim/tasks/metrics.py)
            info["touchdowns"] = float(np.count_nonzero(air))
            info["touchdown_air_s"] = float(np.sum(air))
        r, term = reward(self.spec, state, self.command, action, prev_action, next_state, extras)
        vel = extras.get("base_lin_vel") if extras else None
        if vel is not None:
            info["base_lin_vel_x"] = float(vel[0])
        info.update(self._score(None if vel is None else np.asarray(vel[:2], float), term))
        return StepResult(r, term, info)
