"""The ONE observation builder: `RobotState` (+ command, last action, history) -> vector.

Simulation and the robot runtime both call `ObservationBuilder.build`, so order,
scale and offsets cannot disagree between them.

Per frame, the terms are concatenated in spec order:
  joint_pos          (q - q_default) · scale            one per joint
  joint_vel          qd · scale                         one per joint
  joint_effort       tau · scale                        one per joint
  base_ang_vel       gyro (base frame) · scale          3
  projected_gravity  R(q_base)^T (0,0,-1) · scale       3
  command            command · scale                    len(task.command)
  last_action        previous policy action · scale     one per actuated joint
With `history: H`, the last H frames are stacked newest first; on `reset` the history
is filled with copies of the first frame. Noise (uniform ±noise, physical units) is
added only when an `rng` is passed, i.e. in simulation.
"""

from __future__ import annotations

import numpy as np

from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState, projected_gravity

_AXES = ("x", "y", "z")


def term_size(spec: RobotSpec, name: str) -> int:
    return {
        "joint_pos": spec.n_joints, "joint_vel": spec.n_joints, "joint_effort": spec.n_joints,
        "base_ang_vel": 3, "projected_gravity": 3, "command": len(spec.task.command),
        "last_action": spec.act_dim,
    }[name]


def frame_layout(spec: RobotSpec) -> list[str]:
    """Names of one frame's entries, e.g. 'joint_pos/slider_to_cart'."""
    names: list[str] = []
    joint_names = [j.name for j in spec.joints]
    for t in spec.observation.terms:
        if t.name in ("joint_pos", "joint_vel", "joint_effort"):
            names += [f"{t.name}/{n}" for n in joint_names]
        elif t.name in ("base_ang_vel", "projected_gravity"):
            names += [f"{t.name}/{a}" for a in _AXES]
        elif t.name == "command":
            names += [f"command/{c}" for c in spec.task.command]
        elif t.name == "last_action":
            names += [f"last_action/{j.name}" for j in spec.actuated]
    return names


def observation_layout(spec: RobotSpec) -> list[str]:
    """Names of every observation entry; older history frames are prefixed 't-k:'."""
    frame = frame_layout(spec)
    out = list(frame)
    for k in range(1, spec.observation.history):
        out += [f"t-{k}:{n}" for n in frame]
    return out


def action_layout(spec: RobotSpec) -> list[str]:
    return [j.name for j in spec.actuated]


class ObservationBuilder:
    """Builds observation vectors for one robot; holds the history ring (no per-step allocation
    except the returned copy when `out` is not given)."""

    def __init__(self, spec: RobotSpec):
        self.spec = spec
        self.frame_size = len(frame_layout(spec))
        self.history = spec.observation.history
        self.obs_dim = self.frame_size * self.history
        self._default_q = np.array([j.default_position for j in spec.joints])
        self._frames = np.zeros((self.history, self.frame_size))
        self._frame = np.zeros(self.frame_size)
        self._grav = np.zeros(3)
        self._filled = False

    def reset(self) -> None:
        """Forget the history; the next `build` fills every slot with its frame."""
        self._filled = False

    def _write_frame(self, state: RobotState, command: np.ndarray | None,
                     last_action: np.ndarray | None, rng: np.random.Generator | None) -> None:
        f = self._frame
        i = 0
        for term in self.spec.observation.terms:
            n = term_size(self.spec, term.name)
            seg = f[i:i + n]
            name = term.name
            if name == "joint_pos":
                np.subtract(state.q, self._default_q, out=seg)
            elif name == "joint_vel":
                seg[:] = state.qd
            elif name == "joint_effort":
                seg[:] = state.tau
            elif name == "base_ang_vel":
                if state.base_ang_vel is None:
                    raise ValueError("observation term 'base_ang_vel' needs an IMU reading")
                seg[:] = state.base_ang_vel
            elif name == "projected_gravity":
                if state.base_quat is None:
                    raise ValueError("observation term 'projected_gravity' needs an IMU reading")
                seg[:] = projected_gravity(state.base_quat, self._grav)
            elif name == "command":
                seg[:] = 0.0 if command is None else command
            elif name == "last_action":
                seg[:] = 0.0 if last_action is None else last_action
            if rng is not None and term.noise > 0:
                seg += rng.uniform(-term.noise, term.noise, size=n)
            seg *= term.scale
            i += n

    def build(self, state: RobotState, command: np.ndarray | None = None,
              last_action: np.ndarray | None = None, rng: np.random.Generator | None = None,
              out: np.ndarray | None = None) -> np.ndarray:
        """Push one frame and return the stacked observation (float32 when `out` is None)."""
        self._write_frame(state, command, last_action, rng)
        if not self._filled:
            self._frames[:] = self._frame
            self._filled = True
        else:
            # shift older frames back by one slot; slot 0 is the newest
            self._frames[1:] = self._frames[:-1]  # numpy handles the overlap
            self._frames[0] = self._frame
        if out is None:
            return self._frames.reshape(-1).astype(np.float32)
        out[:] = self._frames.reshape(-1)
        return out
