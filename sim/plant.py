"""`PyBulletPlant`: the simulated robot behind the virtual motor controller.

It implements `firmware_bridge.plant.Plant` with the same `Simulator` (robot class, actuator,
latency, dynamics) as `RobotEnv`, so a policy driven over serial in lock-step reproduces the
env's trajectory:

    env = sim.make_env(spec, "nominal"); obs, _ = env.reset(seed=s)
    plant = PyBulletPlant(spec, "nominal", seed=s)      # same dynamics draw, same initial state
    env.step(a)  ==  plant.step(ActionMapping(spec).to_command(ActionMapping(spec).targets(a)))

`read()` reports the observed state (observation latency and gyro bias of the dynamics set
applied, no observation noise: the runtime sees clean sensor values, noise is a training-time
augmentation). The IMU's `accel` is the specific force of a body at rest, −g expressed in the
base frame (linear acceleration is not modelled).

A sensed-only joint (the cartpole's pole) has no motor: whatever the device commands in its
slot, the safe state's damping included, reaches it as MODE_OFF (no torque), so an unpowered
pole falls freely as a real one does. The simulated robot holds still until the first
ENABLE only because the server does not step it (firmware_bridge/server.py,
`hold_until_enable`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from firmware_bridge.layouts import Mode
from firmware_bridge.messages import ImuState, JointCommand, PlantReading
from robot_ppo.action import ActionMapping
from robot_ppo.spec import RobotSpec
from robot_ppo.state import projected_gravity
from sim.dynamics import DynamicsSet, resolve_dynamics
from sim.env import SpecLike, as_spec
from sim.episode import Streams, start_episode
from sim.simulator import Simulator
from sim.tasks import make_task

GRAVITY = 9.81


class PyBulletPlant:
    """A spec's robot in PyBullet, stepped one control period per `step` (see module doc)."""

    def __init__(self, spec: SpecLike, dynamics: str | Path | dict[str, Any] | DynamicsSet
                 = "nominal", seed: int = 0, gui: bool = False):
        self.spec: RobotSpec = as_spec(spec)
        self.dynamics = resolve_dynamics(self.spec, dynamics)
        self.sim = Simulator(self.spec, self.dynamics, gui=gui)
        self.task = make_task(self.spec)
        self.mapping = ActionMapping(self.spec)
        self.motor_count = self.spec.n_joints
        self._sensed = np.array([not j.actuated for j in self.spec.joints])
        self.control_period_s = 1.0 / self.spec.rates.control_hz
        self.reset(seed)

    def reset(self, seed: int) -> None:
        """Start exactly as `RobotEnv.reset(seed=seed)` on the same spec and dynamics set."""
        self.seed = seed
        start_episode(self.sim, self.task, self.mapping, Streams(seed))

    def step(self, cmd: JointCommand) -> None:
        if self._sensed.any() and (cmd.mode[self._sensed] != Mode.OFF).any():
            cmd = cmd.copy()
            cmd.mode[self._sensed] = Mode.OFF  # no motor on a sensed-only joint
            for arr in (cmd.q, cmd.qd, cmd.tau, cmd.kp, cmd.kd):
                arr[self._sensed] = 0.0
        self.sim.step_control(cmd)  # type: ignore[arg-type]  # same fields as robot_ppo's

    def read(self) -> PlantReading:
        st = self.sim.observed_state()
        imu = None
        if st.base_quat is not None and st.base_ang_vel is not None:
            accel = -GRAVITY * projected_gravity(st.base_quat)
            imu = ImuState(quat=st.base_quat, gyro=st.base_ang_vel, accel=accel)
        return PlantReading(st.t, st.q, st.qd, st.tau, imu)

    @property
    def dynamics_values(self) -> dict[str, float]:
        return self.sim.dynamics_dict()

    def close(self) -> None:
        self.sim.close()


def device_config(spec: RobotSpec, *, watchdog_ms: float, safe_mode: str, kd_safe: float,
                  firmware_id: str, kp_max: float = math.inf,
                  kd_max: float = math.inf) -> Any:
    """The `firmware_bridge.DeviceConfig` of a controller for `spec`: the spec's joint
    limits, its wire spec hash, and the given watchdog, safe state (damping | off) and
    gain limits (kp_max, kd_max; none by default). `robot-ppo serve` runs it and `robot-ppo
    firmware-config` writes it for the C core, so the two never disagree."""
    from firmware_bridge.device import DeviceConfig

    limits = device_limits(spec)
    return DeviceConfig(
        motor_count=spec.n_joints, q_min=limits["q_min"], q_max=limits["q_max"],
        qd_max=limits["qd_max"], tau_max=limits["tau_max"], watchdog_s=watchdog_ms / 1000.0,
        safe_mode=Mode.DAMPING if safe_mode == "damping" else Mode.OFF, kd_safe=kd_safe,
        spec_hash=bytes.fromhex(spec.spec_hash)[:8], firmware_id=firmware_id, kp_max=kp_max,
        kd_max=kd_max)


def device_limits(spec: RobotSpec) -> dict[str, np.ndarray]:
    """Per-joint firmware limits from the spec (for `firmware_bridge.DeviceConfig`)."""
    return {
        "q_min": np.array([j.position_limits[0] for j in spec.joints]),
        "q_max": np.array([j.position_limits[1] for j in spec.joints]),
        "qd_max": np.array([j.velocity_limit for j in spec.joints]),
        "tau_max": np.array([j.effort_limit for j in spec.joints]),
    }
