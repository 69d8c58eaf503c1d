"""A PyBullet robot built from a `RobotSpec`, in its own physics client.

Joints are addressed in the spec's bus order through a precomputed index array, so one
`getJointStates` call reads every joint and one `setJointMotorControlArray` call writes every
torque. PyBullet's default velocity motors are disabled at load: all actuation goes through
`sim.actuator` as TORQUE_CONTROL.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np
import pybullet_data

from robot_ppo.spec import BUILTIN_DIR, RobotSpec, SpecError
from sim._quiet import c_stdout_silenced, pybullet_import_silenced

with pybullet_import_silenced():  # pybullet prints its build time on import
    import pybullet as pb
    from pybullet_utils import bullet_client


def urdf_path(spec: RobotSpec) -> str:
    """The spec's URDF: next to the spec file, else among the built-in robots' files (a spec
    rebuilt from a dict, e.g. from a checkpoint, has no directory), else the name as given for
    PyBullet to find in pybullet_data."""
    found = spec.resolve_urdf()
    if not Path(found).is_file() and (BUILTIN_DIR / spec.urdf).is_file():
        return str(BUILTIN_DIR / spec.urdf)
    return found


class SimRobot:
    """One robot in one PyBullet client (DIRECT by default, GUI when `gui=True`)."""

    def __init__(self, spec: RobotSpec, gui: bool = False):
        self.spec = spec
        with c_stdout_silenced():  # ... and 'argv[0]=' on connect
            self.client = bullet_client.BulletClient(
                connection_mode=pb.GUI if gui else pb.DIRECT)
        c = self.client
        c.setAdditionalSearchPath(pybullet_data.getDataPath())
        self.dt = 1.0 / spec.rates.physics_hz
        c.setTimeStep(self.dt)
        # fixed solver settings: the env and the plant must integrate identically
        c.setPhysicsEngineParameter(numSubSteps=0, numSolverIterations=50,
                                    deterministicOverlappingPairs=1)
        self.floating = spec.base == "floating"
        self.plane = c.loadURDF("plane.urdf") if self.floating else -1
        try:
            self.body = c.loadURDF(urdf_path(spec), basePosition=spec.base_position,
                                   useFixedBase=not self.floating,
                                   flags=pb.URDF_USE_INERTIA_FROM_FILE)
        except pb.error:
            raise SpecError(f"robot '{spec.name}': PyBullet cannot load URDF {spec.urdf!r} "
                            f"(looked next to the spec in {spec.source_dir!r} and in "
                            "pybullet_data)") from None
        by_name: dict[str, int] = {}
        self.link_names: dict[str, int] = {c.getBodyInfo(self.body)[0].decode(): -1}
        for i in range(c.getNumJoints(self.body)):
            info = c.getJointInfo(self.body, i)
            by_name[info[1].decode()] = i
            self.link_names[info[12].decode()] = i
        missing = [j.name for j in spec.joints if j.name not in by_name]
        if missing:
            raise SpecError(f"robot '{spec.name}': joint(s) {', '.join(missing)} not in URDF "
                            f"{spec.urdf!r}. URDF joints: {', '.join(by_name)}")
        self.joint_index = [by_name[j.name] for j in spec.joints]
        self.effort_limit = np.array([j.effort_limit for j in spec.joints])
        self.links = [-1, *range(c.getNumJoints(self.body))]
        self.nominal_mass = {i: c.getDynamicsInfo(self.body, i)[0] for i in self.links}
        self.nominal_inertia = {i: c.getDynamicsInfo(self.body, i)[2] for i in self.links}
        # disable the default velocity motors (they would add hidden damping)
        c.setJointMotorControlArray(self.body, self.joint_index, pb.VELOCITY_CONTROL,
                                    forces=[0.0] * len(self.joint_index))
        for i in range(c.getNumJoints(self.body)):
            c.changeDynamics(self.body, i, linearDamping=0.0, angularDamping=0.0,
                             jointDamping=0.0)
        c.changeDynamics(self.body, -1, linearDamping=0.0, angularDamping=0.0)
        self.q = np.zeros(spec.n_joints)
        self.qd = np.zeros(spec.n_joints)

    def link_index(self, name: str) -> int:
        if name not in self.link_names:
            raise SpecError(f"robot '{self.spec.name}': no link {name!r} in the URDF. Links: "
                            f"{', '.join(self.link_names)}")
        return self.link_names[name]

    # ---- state --------------------------------------------------------------------
    def read_joints(self) -> None:
        """One batched query; fills self.q, self.qd (bus order)."""
        states = self.client.getJointStates(self.body, self.joint_index)
        for k, s in enumerate(states):
            self.q[k] = s[0]
            self.qd[k] = s[1]

    def base_pose(self) -> tuple[np.ndarray, np.ndarray]:
        pos, quat = self.client.getBasePositionAndOrientation(self.body)
        return np.array(pos), np.array(quat)

    def base_velocity(self) -> tuple[np.ndarray, np.ndarray]:
        """World-frame linear and angular velocity of the base."""
        lin, ang = self.client.getBaseVelocity(self.body)
        return np.array(lin), np.array(ang)

    # ---- actuation ----------------------------------------------------------------
    def apply_torques(self, tau: np.ndarray) -> None:
        self.client.setJointMotorControlArray(self.body, self.joint_index, pb.TORQUE_CONTROL,
                                              forces=tau.tolist())

    def step(self) -> None:
        self.client.stepSimulation()

    def reset_state(self, q: np.ndarray, qd: np.ndarray, base_pos: np.ndarray | None = None,
                    base_quat: np.ndarray | None = None) -> None:
        c = self.client
        for k, i in enumerate(self.joint_index):
            c.resetJointState(self.body, i, float(q[k]), float(qd[k]))
        if self.floating:
            pos = self.spec.base_position if base_pos is None else base_pos
            quat = (0.0, 0.0, 0.0, 1.0) if base_quat is None else base_quat
            c.resetBasePositionAndOrientation(self.body, list(pos), list(quat))
            c.resetBaseVelocity(self.body, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
        self.read_joints()

    # ---- dynamics -----------------------------------------------------------------
    def set_masses(self, mass_scale: float, inertia_scale: float, payload_link: int,
                   payload_kg: float) -> None:
        """m_i = m_i⁰·mass_scale (+ payload on one link); I_i = I_i⁰·inertia_scale·m_i/m_i⁰."""
        c = self.client
        for i in self.links:
            m0 = self.nominal_mass[i]
            if m0 <= 0.0:
                continue  # a fixed base (mass 0) stays static
            m = m0 * mass_scale + (payload_kg if i == payload_link else 0.0)
            m = max(m, 0.05 * m0)
            inertia = [v * inertia_scale * m / m0 for v in self.nominal_inertia[i]]
            c.changeDynamics(self.body, i, mass=m, localInertiaDiagonal=inertia)

    def set_friction(self, friction: float) -> None:
        c = self.client
        for i in self.links:
            c.changeDynamics(self.body, i, lateralFriction=friction)
        if self.plane >= 0:
            c.changeDynamics(self.plane, -1, lateralFriction=friction)

    def set_gravity(self, tilt_x: float, tilt_y: float, g: float = 9.81) -> None:
        """Gravity tilted by small angles about x and y (a sloped ground, seen from the robot)."""
        gx = g * math.sin(tilt_y)
        gy = -g * math.sin(tilt_x) * math.cos(tilt_y)
        gz = -g * math.cos(tilt_x) * math.cos(tilt_y)
        self.client.setGravity(gx, gy, gz)

    def contacts(self, links: list[int]) -> np.ndarray:
        """1.0 per link touching the ground plane."""
        out = np.zeros(len(links))
        if self.plane < 0:
            return out
        touching = {pt[3] for pt in self.client.getContactPoints(self.body, self.plane)}
        for k, i in enumerate(links):
            out[k] = 1.0 if i in touching else 0.0
        return out

    def close(self) -> None:
        with contextlib.suppress(pb.error):
            self.client.disconnect()
