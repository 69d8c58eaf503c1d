"""The ONE action mapping: policy output -> joint targets -> per-joint command.

    targets = clip(offset + scale · clip(a, -c, c), low, high)

position mode: offset = default pose, [low, high] = position limits, targets are
               joint positions tracked by PD (kp, kd from the spec) on the device;
torque mode:   offset = 0, [low, high] = ±effort limit, targets are feed-forward torques.

The exported ONNX graph embeds exactly this formula using `ActionMapping.params()`;
a test holds the two equal. `to_command` fills the per-joint command (mode, q, qd,
tau, kp, kd) for every joint in bus order; sensed-only joints get mode OFF.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_ppo.spec import RobotSpec

# The per-joint modes. Their values are the COMMAND mode byte on the wire
# (firmware_bridge.layouts.Mode, which this package may not import; tests/deploy/test_link.py
# holds the two equal). Plain ints: numpy keeps uint8 mode arrays uint8 with them.
MODE_OFF = 0
"""Torque off (the joint is free)."""
MODE_PD = 1
"""tau = kp (q* - q) + kd (qd* - qd) + tau_ff, clipped to the effort limit."""
MODE_DAMPING = 2
"""Safe state: tau = -kd_safe · qd."""


@dataclass
class JointCommand:
    """Per-joint command for all joints in bus order (what the device executes): the type
    the sim and the runtime build, filter and log, and that the motor bus sends as it is
    (it reads these six arrays; firmware_bridge.messages.CommandArrays)."""

    mode: np.ndarray
    q: np.ndarray
    qd: np.ndarray
    tau: np.ndarray
    kp: np.ndarray
    kd: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> JointCommand:
        return cls(np.zeros(n, dtype=np.uint8), np.zeros(n), np.zeros(n), np.zeros(n),
                   np.zeros(n), np.zeros(n))

    def copy(self) -> JointCommand:
        return JointCommand(self.mode.copy(), self.q.copy(), self.qd.copy(), self.tau.copy(),
                            self.kp.copy(), self.kd.copy())


class ActionMapping:
    """Maps policy actions to joint targets and commands for one robot spec."""

    def __init__(self, spec: RobotSpec):
        self.spec = spec
        act = spec.actuated
        self.clip = float(spec.action.clip)
        self.scale = np.array(spec.action.scale, dtype=np.float64)
        if spec.action.mode == "position":
            self.offset = np.array([j.default_position for j in act])
            self.low = np.array([j.position_limits[0] for j in act])
            self.high = np.array([j.position_limits[1] for j in act])
        else:
            self.offset = np.zeros(len(act))
            self.low = -np.array([j.effort_limit for j in act])
            self.high = np.array([j.effort_limit for j in act])
        self.actuated_index = np.array([i for i, j in enumerate(spec.joints) if j.actuated])
        self._template = self._build_template()

    def params(self) -> dict[str, np.ndarray | float]:
        """Constants of the formula, for embedding in the exported graph."""
        return {"offset": self.offset, "scale": self.scale, "low": self.low, "high": self.high,
                "clip": self.clip}

    def targets(self, action: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Policy action (act_dim,) or (B, act_dim) -> joint targets, same shape."""
        a = np.clip(action, -self.clip, self.clip)
        res = np.clip(self.offset + self.scale * a, self.low, self.high)
        if out is None:
            return res
        out[...] = res
        return out

    def _build_template(self) -> JointCommand:
        spec = self.spec
        cmd = JointCommand.zeros(spec.n_joints)
        for i, j in enumerate(spec.joints):
            if not j.actuated:
                continue
            cmd.mode[i] = MODE_PD
            if spec.action.mode == "position":
                cmd.kp[i], cmd.kd[i] = j.kp, j.kd
                cmd.q[i] = j.default_position
        return cmd

    def to_command(self, targets: np.ndarray, out: JointCommand | None = None) -> JointCommand:
        """Joint targets (act_dim,) -> full JointCommand for the bus (bus order)."""
        if out is None:
            out = self._template.copy()
        if self.spec.action.mode == "position":
            out.q[self.actuated_index] = targets
        else:
            out.tau[self.actuated_index] = targets
        return out
