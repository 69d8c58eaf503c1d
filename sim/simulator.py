"""The physics core shared by the gymnasium env and the virtual controller.

`Simulator.step_control(cmd)` advances one control period: `decimation` physics steps, each

    cmd_k   = command issued `action_latency` ago      (delay line at physics resolution)
    tau_k   = actuator_torque(cmd_k, q_k, q̇_k)         (sim.actuator, the one PD)
    apply tau_k + joint friction (TORQUE_CONTROL), stepSimulation, read q, q̇ (one query)

and records every physics-step state in a ring, from which `observed_state()` returns the one
`obs_latency` old (stepped, not interpolated: latencies are rounded to whole physics steps).
With zero latency the env and the plant therefore run the identical call sequence.

The dynamics parameters (drawn at reset, drifted, pushed, applied to the robot) belong to
`self.episode` (sim/episode_dynamics.py); this class only runs the loop above with them.
"""

from __future__ import annotations

import math

import numpy as np

from robot_ppo.action import JointCommand
from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState
from sim.actuator import actuator_torque, joint_friction_torque
from sim.dynamics import DynamicsProcess, DynamicsSet
from sim.episode_dynamics import Actuation, EpisodeDynamics
from sim.randomization import PARAM_NAMES
from sim.robot import SimRobot

_CMD_FIELDS = ("mode", "q", "qd", "tau", "kp", "kd")


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


class Simulator:
    """A SimRobot plus the episode's dynamics, latency buffers and the actuator loop."""

    def __init__(self, spec: RobotSpec, dset: DynamicsSet, gui: bool = False,
                 episode: EpisodeDynamics | None = None):
        self.spec = spec
        self.dset = dset
        self.robot = SimRobot(spec, gui=gui)
        self.episode = episode or EpisodeDynamics(dset)
        self.n = spec.n_joints
        self.decimation = spec.rates.decimation
        self.dt = self.robot.dt
        self.control_dt = self.dt * self.decimation
        self.imu = spec.imu
        if dset.payload_link is not None:
            self.payload_link = self.robot.link_index(dset.payload_link)
        else:
            self.payload_link = -1 if self.robot.floating else self.robot.links[-1]
        feet = spec.task.params.get("feet", [])
        self.feet = [self.robot.link_index(f) for f in feet]
        # rings sized for the largest latency of this dynamics set
        ring = math.ceil(dset.max_latency_s / self.dt) + 2
        self._cmd_ring = np.zeros((ring, 6, self.n))
        self._q_ring = np.zeros((ring, 3, self.n))  # q, qd, tau
        self._imu_ring = np.zeros((ring, 7))  # quat xyzw, gyro (base frame)
        self._t_ring = np.zeros(ring)
        self._ring = ring
        self._ptr = 0
        self._cmd_ptr = 0
        self.steps = 0
        self.tau = np.zeros(self.n)
        self.gyro_bias = np.zeros(3)
        self._act = Actuation(1.0, 1.0, 1.0, 0.0, 0.0)

    @property
    def process(self) -> DynamicsProcess:
        """The current parameter values (the episode's; settable to pin them, as system
        identification does)."""
        return self.episode.process

    @process.setter
    def process(self, process: DynamicsProcess) -> None:
        self.episode.process = process

    # ---- episode ------------------------------------------------------------------
    def reset(self, rng: np.random.Generator, q0: np.ndarray, qd0: np.ndarray,
              initial_cmd: JointCommand, base_pos: np.ndarray | None = None,
              base_quat: np.ndarray | None = None) -> None:
        """Draw the episode's dynamics with `rng` (kept for drift and pushes) and place the
        robot."""
        self.episode.draw(rng)
        self._act = self.episode.apply(self.robot, self.payload_link)
        self.robot.reset_state(q0, qd0, base_pos, base_quat)
        self.a_delay, self.o_delay = self.episode.delays(self.dt, self._ring)
        self.gyro_bias = self.episode.gyro_bias()
        self.steps = 0
        self.tau[:] = 0.0
        self._cmd_ring[:] = self._pack(initial_cmd)
        self._record(fill=True)

    @staticmethod
    def _pack(cmd: JointCommand) -> np.ndarray:
        return np.stack([np.asarray(getattr(cmd, f), dtype=np.float64) for f in _CMD_FIELDS])

    # ---- stepping -----------------------------------------------------------------
    def step_control(self, cmd: JointCommand) -> None:
        """Hold `cmd` for one control period (decimation physics steps)."""
        packed = self._pack(cmd)
        robot, act = self.robot, self._act
        for _ in range(self.decimation):
            self._cmd_ptr = (self._cmd_ptr + 1) % self._ring
            self._cmd_ring[self._cmd_ptr] = packed
            mode, q_cmd, qd_cmd, tau_ff, kp, kd = self._cmd_ring[
                (self._cmd_ptr - self.a_delay) % self._ring]
            tau = actuator_torque(mode, q_cmd, qd_cmd, tau_ff, kp, kd, robot.q, robot.qd,
                                  robot.effort_limit, act.strength, act.kp_scale,
                                  act.kd_scale)
            self.tau = tau
            robot.apply_torques(tau + joint_friction_torque(robot.qd, act.damping,
                                                            act.coulomb))
            robot.step()
            self.steps += 1
            robot.read_joints()
            self._record()
        if self.episode.advance(self.control_dt):
            self._act = self.episode.apply(robot, self.payload_link)
        self.episode.push(robot, self.control_dt)

    def _record(self, fill: bool = False) -> None:
        r = self.robot
        self._ptr = (self._ptr + 1) % self._ring
        slot = slice(None) if fill else self._ptr
        self._q_ring[slot, 0] = r.q
        self._q_ring[slot, 1] = r.qd
        self._q_ring[slot, 2] = self.tau
        self._t_ring[slot] = self.steps * self.dt
        if self.imu:
            _, quat = r.base_pose()
            _, ang = r.base_velocity()
            self._imu_ring[slot, :4] = quat
            self._imu_ring[slot, 4:] = quat_to_matrix(quat).T @ ang

    # ---- reading ------------------------------------------------------------------
    def _state_at(self, delay: int, bias: bool) -> RobotState:
        i = (self._ptr - delay) % self._ring
        q, qd, tau = self._q_ring[i]
        st = RobotState(float(self._t_ring[i]), q.copy(), qd.copy(), tau.copy())
        if self.imu:
            st.base_quat = self._imu_ring[i, :4].copy()
            st.base_ang_vel = self._imu_ring[i, 4:] + (self.gyro_bias if bias else 0.0)
        return st

    def observed_state(self) -> RobotState:
        """What the sensors report now: `obs_latency` old, gyro bias added."""
        return self._state_at(self.o_delay, bias=True)

    def true_state(self) -> RobotState:
        return self._state_at(0, bias=False)

    @property
    def time(self) -> float:
        return self.steps * self.dt

    def extras(self) -> dict[str, np.ndarray]:
        """Simulator-only quantities (not in RobotState): base velocity in the base frame,
        base position, foot contacts. Used by rewards and the privileged observation."""
        out: dict[str, np.ndarray] = {}
        if self.robot.floating:
            pos, quat = self.robot.base_pose()
            lin, _ = self.robot.base_velocity()
            out["base_pos"] = pos
            out["base_lin_vel"] = quat_to_matrix(quat).T @ lin
            out["contacts"] = self.robot.contacts(self.feet)
        return out

    def dynamics_dict(self) -> dict[str, float]:
        return self.process.as_dict()

    def privileged(self) -> np.ndarray:
        """float32: dynamics params (PARAM_NAMES order) + base lin vel + foot contacts."""
        ex = self.extras()
        parts = [self.process.values]
        if self.robot.floating:
            parts += [ex["base_lin_vel"], ex["contacts"]]
        return np.concatenate(parts).astype(np.float32)

    @staticmethod
    def privileged_size(spec: RobotSpec) -> int:
        n = len(PARAM_NAMES)
        if spec.base == "floating":
            n += 3 + len(spec.task.params.get("feet", []))
        return n

    def close(self) -> None:
        self.robot.close()
