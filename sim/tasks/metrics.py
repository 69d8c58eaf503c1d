"""Task metrics that `robot-ppo eval` reports beside the return, read from the env's info.

- reach: `mean_final_distance` (m), the end effector's distance to the target at the last
  step of each episode (success is `distance < success_radius`, also in `success_rate`);
- walk:  `mean_speed_error` (m/s), per episode |mean vx − mean commanded vx| over the steps
  after the first second (the robot needs that long to get going), and `mean_speed`;
  `mean_performance`, the walk task's own episode score (sim/tasks/walk.py: fraction of
  the episode survived × fraction of the commanded speed delivered; 0 for standing still);
  the gait: `touchdowns_per_s`, feet touching down per second of episode (all feet), and
  `mean_air_time` (s), how long a foot was off the ground before a touchdown, on average.
  A gait of 20-60 ms taps many times a second is shuffling, not stepping.
"""

from __future__ import annotations

import numpy as np

from robot_ppo.spec import RobotSpec
from sim.tasks.walk import settle_steps


class TaskMetrics:
    """Accumulates per-episode task metrics; `summary()` averages them over episodes."""

    def __init__(self, spec: RobotSpec):
        self.settle_steps = settle_steps(spec)  # the walk score skips the same steps
        names = list(spec.task.command)
        self.vx_index = names.index("vx") if "vx" in names else None
        self.final_distances: list[float] = []
        self.speed_errors: list[float] = []
        self.speeds: list[float] = []
        self.performances: list[float] = []
        self._vx: list[float] = []
        self._cmd: list[float] = []
        self.dt = 1.0 / spec.rates.control_hz
        self.touchdowns = self.air_s = 0.0
        self.seconds = 0.0

    def step(self, step_index: int, info: dict, command: np.ndarray) -> None:
        if "touchdowns" in info:
            self.touchdowns += info["touchdowns"]
            self.air_s += info["touchdown_air_s"]
            self.seconds += self.dt
        if self.vx_index is not None and "base_lin_vel_x" in info \
                and step_index >= self.settle_steps:
            self._vx.append(float(info["base_lin_vel_x"]))
            self._cmd.append(float(command[self.vx_index]))

    def end_episode(self, info: dict) -> None:
        if "distance" in info:
            self.final_distances.append(float(info["distance"]))
        if "performance" in info:
            self.performances.append(float(info["performance"]))
        if self._vx:
            speed = float(np.mean(self._vx))
            self.speeds.append(speed)
            self.speed_errors.append(abs(speed - float(np.mean(self._cmd))))
        self._vx, self._cmd = [], []

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.final_distances:
            out["mean_final_distance"] = float(np.mean(self.final_distances))
        if self.speed_errors:
            out["mean_speed_error"] = float(np.mean(self.speed_errors))
            out["mean_speed"] = float(np.mean(self.speeds))
        if self.performances:
            out["mean_performance"] = float(np.mean(self.performances))
        if self.seconds:
            out["touchdowns_per_s"] = self.touchdowns / self.seconds
            out["mean_air_time"] = self.air_s / self.touchdowns if self.touchdowns else 0.0
        return out
