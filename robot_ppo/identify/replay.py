"""Replay windows in PyBullet with one set of dynamics parameters (`sim.simulator`).

The same `Simulator` as training and `robot-ppo serve` (actuator model, latency line,
friction, masses), on the `nominal` set with the fitted parameters pinned to the
candidate's values: no drift, no pushes, no noise. Each window resets the simulator to
the logged joint state and holds each logged command for its control periods, as
`sim.plant.PyBulletPlant` does (a sensed-only joint gets no torque whatever its slot says).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from robot_ppo.action import MODE_OFF, JointCommand
from robot_ppo.errors import UserError
from robot_ppo.identify.segments import ReplaySet, Window
from robot_ppo.spec import RobotSpec
from sim.dynamics import DynamicsProcess, DynamicsSet, resolve_dynamics
from sim.simulator import Simulator

BLOWUP_ERROR = 1e6
"""Normalized squared error per value given to a replay that went non-finite (a candidate
so far off that the integrator diverged): large, but finite so CMA-ES can rank it."""


class Replayer:
    """Predicts the logged states of a ReplaySet for parameter values (see module doc)."""

    def __init__(self, spec: RobotSpec, data: ReplaySet, max_latency_s: float = 0.0):
        if spec.base == "floating":
            raise UserError(f"robot {spec.name!r} has a floating base: its logs hold no base "
                            "position or linear velocity, so a replay cannot start from a "
                            "logged state. identify supports fixed-base robots.")
        self.spec = spec
        self.data = data
        nominal = resolve_dynamics(spec, "nominal")
        self.nominal = nominal
        # the latency line is sized once, for the largest latency any candidate may ask for
        ranges = dict(nominal.ranges)
        ranges["action_latency_s"] = (0.0, max(max_latency_s, 0.0))
        self.sim = Simulator(spec, replace(nominal, ranges=ranges))
        self._rng = np.random.default_rng(0)  # only draws from point ranges: no randomness
        sensed = np.array([not j.actuated for j in spec.joints])
        c = data.commands
        self.commands = []
        for i in range(c["mode"].shape[0]):
            cmd = JointCommand(c["mode"][i].astype(np.uint8), c["q"][i], c["qd"][i],
                               c["tau"][i], c["kp"][i], c["kd"][i])
            cmd.mode[sensed] = MODE_OFF
            for arr in (cmd.q, cmd.qd, cmd.tau, cmd.kp, cmd.kd):
                arr[sensed] = 0.0
            self.commands.append(cmd)

    def _pin(self, values: dict[str, float]) -> None:
        ranges = dict(self.nominal.ranges)
        for name, v in values.items():
            ranges[name] = (float(v), float(v))
        point: DynamicsSet = replace(self.nominal, ranges=ranges)
        self.sim.dset = point
        self.sim.process = DynamicsProcess(point)

    def predict_window(self, w: Window) -> np.ndarray:
        """(horizon, D) simulated (q, q̇) at the window's compared states."""
        sim, cmds = self.sim, self.commands
        sim.reset(self._rng, w.q0, w.qd0, cmds[w.prior])
        out = np.empty_like(w.target)
        p = 0
        for h, n in enumerate(w.periods):
            for _ in range(int(n)):
                sim.step_control(cmds[int(w.commands[p])])
                p += 1
            st = sim.true_state()
            out[h, :sim.n] = st.q
            out[h, sim.n:] = st.qd
        return out

    def predict(self, values: dict[str, float],
                windows: list[Window] | None = None) -> list[np.ndarray]:
        self._pin(values)
        return [self.predict_window(w) for w in (windows or self.data.windows)]

    def window_errors(self, values: dict[str, float]) -> np.ndarray:
        """(W,) sum over each window of the squared normalized prediction error."""
        scale = self.data.scale
        out = np.empty(len(self.data.windows))
        for i, (w, pred) in enumerate(zip(self.data.windows, self.predict(values))):
            err = float(np.sum(((pred - w.target) / scale) ** 2))
            out[i] = err if math.isfinite(err) else BLOWUP_ERROR * pred.size
        return out

    def close(self) -> None:
        self.sim.close()
