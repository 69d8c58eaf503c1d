"""`EpisodeDynamics`: the one owner of an episode's dynamics, from draw to report.

The env, the plant and the simulator call it; none of them holds a piece of the dynamics:

  begin(task)       before the task draws its initial state: with ADR, the disturbance
                    curriculum's factor scales the task's initial perturbation and, for the
                    whole episode, the pushes (sim.curriculum)
  draw(rng)         at reset (Simulator.reset): every parameter of the set drawn with the
                    episode's dynamics stream (sim.dynamics DynamicsProcess: U(range); with
                    ADR, sim.adr_dynamics AdrProcess: from ADR's current ranges, maybe one
                    pinned at a boundary); `rng` is kept for drift, events and pushes
  apply(robot)      the values into the PyBullet robot (masses, inertias, payload,
                    friction, gravity); returns the actuator's per-physics-step values
  delays(dt, ring)  action and observation latency in whole physics steps; gyro_bias()
  advance(dt)       in-episode drift and sudden events (True: values changed, re-apply)
  push(robot, dt)   random horizontal pushes of a floating base
  end(...)          at the episode's end, with ADR: its normalized performance to ADR's
                    queue of the pinned boundary, its success to the curriculum; returns
                    the metrics for info["episode_metrics"]

Training state (the env's `get_train_state()` ... `restore_notes()`, sim/env.py) is ADR's
and the curriculum's: shared by this process's envs of one training (sim/adr_dynamics.py
`SharedAdr`).

The order in which the generators are used is the order before this class existed
(tests/sim/test_episode_dynamics_golden.py holds the numbers equal).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_ppo.spec import RobotSpec
from sim.adr import AdrConfig, AutomaticDomainRandomization
from sim.adr_dynamics import (
    PROCESS_ADR,
    AdrProcess,
    SharedAdr,
    adr_state,
    restore_adr_state,
    restore_notes,
)
from sim.curriculum import Curriculum, CurriculumConfig
from sim.dynamics import DynamicsProcess, DynamicsSet
from sim.robot import SimRobot

Performance = Callable[[dict[str, Any], bool], float]
"""(final info, terminated) -> normalized performance in [0, 1]."""


@dataclass(frozen=True)
class Actuation:
    """What the actuator loop reads every physics step (sim.actuator)."""

    strength: float
    kp_scale: float
    kd_scale: float
    damping: float
    """Viscous joint damping, N·m·s/rad."""
    coulomb: float
    """Coulomb joint friction, N·m."""


class EpisodeDynamics:
    """The dynamics of one env's episodes (see the module doc); with `adr` and
    `curriculum` (this process's shared ones) the set's ranges come from ADR."""

    def __init__(self, dset: DynamicsSet, adr: AutomaticDomainRandomization | None = None,
                 curriculum: Curriculum | None = None) -> None:
        self.adr = adr
        self.curriculum = curriculum
        self.process: DynamicsProcess = (DynamicsProcess(dset) if adr is None
                                         else AdrProcess(dset, adr))
        self.rng = np.random.default_rng(0)
        self.push_scale = 1.0
        """Multiplies the push velocity (the curriculum's factor at this episode's start)."""

    @classmethod
    def for_env(cls, spec: RobotSpec, dset: DynamicsSet, adr_config: AdrConfig | None = None,
                curriculum: CurriculumConfig | None = None, share: SharedAdr | None = None,
                train_state: dict[str, Any] | None = None) -> EpisodeDynamics:
        """Plain dynamics, or with dynamics "adr" the ADR and curriculum of `share` (None:
        this process's default one), loaded from `train_state` when given (a
        `get_train_state()`)."""
        if dset.name != "adr":
            return cls(dset)
        share = PROCESS_ADR if share is None else share
        adr = share.adr(spec, adr_config)
        shared = share.curriculum(spec, curriculum)
        if train_state is not None:
            restore_adr_state(adr, shared, train_state)
        return cls(dset, adr, shared)

    # ---- one episode ----------------------------------------------------------------
    def begin(self, task: Any) -> None:
        """Before the task's initial state: the curriculum's disturbance scale (ADR only)."""
        if self.curriculum is not None:
            task.disturbance = self.push_scale = self.curriculum.factor

    def draw(self, rng: np.random.Generator) -> None:
        """Draw the episode's parameters; `rng` is kept for drift, events and pushes."""
        self.rng = rng
        self.process.reset(rng)

    def apply(self, robot: SimRobot, payload_link: int) -> Actuation:
        """The current values into the robot; what the actuator loop needs of them."""
        p = self.process
        robot.set_masses(p["mass_scale"], p["inertia_scale"], payload_link, p["payload_kg"])
        robot.set_friction(p["friction"])
        robot.set_gravity(p["gravity_tilt_x"], p["gravity_tilt_y"])
        return Actuation(p["motor_strength"], p["kp_scale"], p["kd_scale"],
                         p["joint_damping"], p["joint_friction"])

    def delays(self, dt: float, ring: int) -> tuple[int, int]:
        """(action, observation) latency in physics steps of `dt`, below the ring's size."""
        p = self.process
        return (min(round(p["action_latency_s"] / dt), ring - 1),
                min(round(p["obs_latency_s"] / dt), ring - 1))

    def gyro_bias(self) -> np.ndarray:
        p = self.process
        return np.array([p["gyro_bias_x"], p["gyro_bias_y"], p["gyro_bias_z"]])

    def advance(self, dt: float) -> bool:
        """Drift and events over `dt` seconds; True when the values changed."""
        return self.process.advance(self.rng, dt)

    def push(self, robot: SimRobot, dt: float) -> None:
        """A push with probability 1 − exp(−dt / interval): a uniform horizontal velocity
        change of the base (floating bases only)."""
        push = self.process.dset.push
        if push is not None and robot.floating and push.interval_s > 0 \
                and self.rng.random() < 1.0 - math.exp(-dt / push.interval_s):
            lin, ang = robot.base_velocity()
            v = push.velocity * self.push_scale
            lin[:2] += self.rng.uniform(-v, v, size=2)
            robot.client.resetBaseVelocity(robot.body, lin.tolist(), ang.tolist())

    def end(self, info: dict[str, Any], terminated: bool, survived: float,
            performance: Performance | None = None) -> dict[str, float] | None:
        """Report the ended episode to ADR and the curriculum; their state for the logs
        (None without ADR). Performance: `performance(info, terminated)` if given, else the
        task's `performance` ∈ [0, 1] if it reports one, else its success, else `survived`
        (the fraction of the episode survived); success: the task's `success`, else not
        terminated early."""
        if self.adr is None or self.curriculum is None:
            return None
        if performance is not None:
            perf = float(performance(info, terminated))
            success = perf >= 0.5
        elif "performance" in info:
            perf = float(info["performance"])
            success = bool(info.get("success", perf >= 0.5))
        elif "success" in info:
            perf = float(bool(info["success"]))
            success = bool(info["success"])
        else:
            perf = survived
            success = not terminated
        pinned = self.process.pinned if isinstance(self.process, AdrProcess) else None
        self.adr.report(pinned, perf)
        self.curriculum.report(success)
        metrics = self.process.metrics() if isinstance(self.process, AdrProcess) else {}
        return {**metrics, "adr/performance": perf,
                "curriculum/level": float(self.curriculum.level)}

    # ---- the training state (ADR and curriculum; sim/env.py documents the contract) ----
    def get_train_state(self) -> dict[str, Any] | None:
        if self.adr is None or self.curriculum is None:
            return None
        return adr_state(self.adr, self.curriculum)

    def set_train_state(self, state: dict[str, Any]) -> None:
        if self.adr is not None and self.curriculum is not None:
            restore_adr_state(self.adr, self.curriculum, state)

    def take_reports(self) -> dict[str, list[Any]] | None:
        adr, curriculum = self.adr, self.curriculum
        if adr is None or curriculum is None:
            return None
        out: dict[str, list[Any]] = {"adr": list(adr.journal or []),
                                     "curriculum": list(curriculum.journal or [])}
        adr.journal, curriculum.journal = [], []
        return out

    def merge_reports(self, base: dict[str, Any], reports: list[dict[str, list[Any]]]
                      ) -> None:
        adr, curriculum = self.adr, self.curriculum
        if adr is None or curriculum is None:
            return
        restore_adr_state(adr, curriculum, base)
        for r in reports:
            for pinned, performance in r["adr"]:
                adr.report(None if pinned is None else (pinned[0], pinned[1]), performance)
            for success in r["curriculum"]:
                curriculum.report(success)
        adr.journal, curriculum.journal = [], []  # the replay is not news

    def restore_notes(self, saved: Any) -> list[str]:
        return restore_notes(saved, self.get_train_state())
