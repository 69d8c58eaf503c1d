"""`RobotEnv`: a gymnasium env for any robot spec (task, rewards and dynamics from `sim`).

Observations come from the shared `ObservationBuilder`, actions go through the shared
`ActionMapping` and the shared actuator, exactly as on the robot.

info keys (every step):
  dynamics    dict of the current dynamics parameters (sim.randomization.PARAM_NAMES)
  privileged  float32 vector (only with privileged=True): dynamics values, then for floating
              bases the base linear velocity (base frame) and foot contacts
  task keys   e.g. reach: distance, success; walk: base_lin_vel_x

At an episode's end with `dynamics="adr"` (automatic domain randomization, sim/adr_dynamics.py):
  episode_metrics  flat dict of floats: adr/entropy, adr/<param>_lo, adr/<param>_hi,
                   adr/performance, curriculum/level
The episode's normalized performance goes to the ADR queue of the pinned boundary, and its
success to the disturbance curriculum. Performance: the task's `performance` ∈ [0, 1] if it
reports one (walk: fraction survived × speed tracking), else its success (reach), else the
fraction of the episode survived; success: the task's `success`, else not terminated early.

Training state (what robot_ppo's trainer checkpoints and merges across ranks without knowing
what it holds; with dynamics "adr" it is the ADR and curriculum of this process):
  get_train_state() / set_train_state(state)   a plain dict (checkpoint key `env_state`)
  take_reports() / merge_reports(base, reports) the episode results since the last call,
                                                replayed onto an agreed state (torchrun)
  restore_notes(saved)                          log lines about a resume's restore
`train_state=` (a dict from `get_train_state()`, e.g. a checkpoint's `env_state`) loads saved
ADR ranges, queues and curriculum level into this process's shared ADR when the env is built
(ignored unless dynamics is "adr"); every env built with it loads it again, so pass it only
when building a run's envs, before training starts (robot_ppo --resume does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from robot_ppo.action import ActionMapping, JointCommand
from robot_ppo.observation import ObservationBuilder
from robot_ppo.spec import RobotSpec, load_spec, spec_from_dict
from robot_ppo.state import RobotState
from sim.adr import AdrConfig
from sim.adr_dynamics import SharedAdr
from sim.curriculum import CurriculumConfig
from sim.dynamics import DynamicsSet, resolve_dynamics
from sim.episode import Streams, start_episode
from sim.episode_dynamics import EpisodeDynamics, Performance
from sim.robot import pb
from sim.simulator import Simulator
from sim.tasks import make_task

SpecLike = RobotSpec | str | Path | dict[str, Any]


def as_spec(spec: SpecLike) -> RobotSpec:
    if isinstance(spec, RobotSpec):
        return spec
    if isinstance(spec, dict):
        return spec_from_dict(spec, origin="spec dict")
    return load_spec(spec)


class RobotEnv(gym.Env[np.ndarray, np.ndarray]):
    # gymnasium declares `metadata` as an instance attribute; render_fps is set per robot
    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 50}  # noqa: RUF012

    def __init__(self, spec: SpecLike, dynamics: str | Path | dict[str, Any] | DynamicsSet
                 = "randomized", render_mode: str | None = None, privileged: bool = False,
                 width: int = 320, height: int = 240, adr_config: AdrConfig | None = None,
                 curriculum: CurriculumConfig | None = None,
                 adr_share: SharedAdr | None = None,
                 performance: Performance | None = None,
                 train_state: dict[str, Any] | None = None):
        self.robot_spec = as_spec(spec)
        if render_mode not in (None, "rgb_array", "human"):
            raise ValueError(f"render_mode must be None, 'rgb_array' or 'human', got "
                             f"{render_mode!r}")
        self.render_mode = render_mode
        self.dynamics = resolve_dynamics(self.robot_spec, dynamics)
        gui = render_mode == "human" and bool(os.environ.get("DISPLAY"))
        if render_mode == "human" and not gui:
            # PyBullet's GUI aborts the process without an X display: fall back to DIRECT
            gym.logger.warn("render_mode='human' needs a display (DISPLAY is unset); "
                            "running headless")
        # with "adr": ADR and the curriculum are shared by the envs built with one adr_share
        # (one training's), by default by all of this process's envs
        self.episode = EpisodeDynamics.for_env(self.robot_spec, self.dynamics, adr_config,
                                               curriculum, adr_share, train_state)
        """The owner of the episodes' dynamics, from draw to report (sim/episode_dynamics.py)."""
        self.performance = performance
        """(final info, terminated) -> normalized performance; None: the task's own."""
        self.sim = Simulator(self.robot_spec, self.dynamics, gui=gui, episode=self.episode)
        self.task = make_task(self.robot_spec)
        self.builder = ObservationBuilder(self.robot_spec)
        self.mapping = ActionMapping(self.robot_spec)
        self.privileged = privileged
        self.width, self.height = width, height
        self.metadata = dict(self.metadata, render_fps=round(self.robot_spec.rates.control_hz))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (self.builder.obs_dim,),
                                                np.float32)
        c = self.mapping.clip
        self.action_space = gym.spaces.Box(-c, c, (self.robot_spec.act_dim,), np.float32)
        self._streams: Streams | None = None
        self._last_action = np.zeros(self.robot_spec.act_dim)
        self._true: RobotState | None = None
        self._steps = 0
        self._cmd: JointCommand | None = None

    # ---- the env's training state (what robot_ppo's trainer carries, opaque to it) ----
    def get_train_state(self) -> dict[str, Any] | None:
        """This process's ADR ranges, queues and curriculum as a plain dict (sim/adr_dynamics.py
        `adr_state`; the checkpoint's `env_state`); None unless dynamics is "adr"."""
        return self.episode.get_train_state()

    def set_train_state(self, state: dict[str, Any]) -> None:
        """Load another process's `get_train_state()` (rank 0's under torchrun) into this
        process's ADR and curriculum; nothing unless dynamics is "adr"."""
        self.episode.set_train_state(state)

    def take_reports(self) -> dict[str, list[Any]] | None:
        """The episode results this process's ADR and curriculum received since the last
        call, {"adr": [(pinned, performance)...], "curriculum": [success...]}: a dict of
        lists, one entry per result; the first call starts keeping them. None unless
        dynamics is "adr"."""
        return self.episode.take_reports()

    def merge_reports(self, base: dict[str, Any], reports: list[dict[str, list[Any]]]
                      ) -> None:
        """Set this process's ADR and curriculum to `base` (a `get_train_state()`) and feed
        them every `take_reports()` of `reports` in order: the state one ADR would hold had
        it seen all those episodes itself (torchrun: every rank's, in rank order, so all
        ranks compute the same state). Nothing unless dynamics is "adr"."""
        self.episode.merge_reports(base, reports)

    def restore_notes(self, saved: Any) -> list[str]:
        """What building this env with `train_state=saved` (a checkpoint's, or None) did, as
        log lines: no saved state, state ignored, unknown names, clamped ranges."""
        return self.episode.restore_notes(saved)

    # ---- gymnasium API ------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or self._streams is None:
            entropy = seed if seed is not None else int(self.np_random.integers(2**63))
            self._streams = Streams(entropy)
        start_episode(self.sim, self.task, self.mapping, self._streams)
        command = self.task.reset_command(self._streams.task)
        self._last_action = np.zeros(self.robot_spec.act_dim)
        self._steps = 0
        self._true = self.sim.true_state()
        self.builder.reset()
        obs = self._observe(command)
        return obs, self._info({})

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        assert self._streams is not None and self._true is not None, "call reset() first"
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(-1),
                    -self.mapping.clip, self.mapping.clip)
        self._cmd = self.mapping.to_command(self.mapping.targets(a), out=self._cmd)
        self.sim.step_control(self._cmd)
        true_next = self.sim.true_state()
        extras = self.sim.extras()
        res = self.task.evaluate(self._true, a, self._last_action, true_next, extras)
        self._true = true_next
        self._last_action = a
        self._steps += 1
        terminated = res.terminated
        truncated = (not terminated) and self._steps >= self.robot_spec.task.episode_steps
        command = self.task.update_command(self._streams.task, self.sim.time)
        obs = self._observe(command)
        info = self._info(res.info)
        if terminated or truncated:
            survived = self._steps / self.robot_spec.task.episode_steps
            metrics = self.episode.end(info, terminated, survived, self.performance)
            if metrics is not None:
                info["episode_metrics"] = metrics
        return obs, float(res.reward), terminated, truncated, info

    def _observe(self, command: np.ndarray) -> np.ndarray:
        assert self._streams is not None
        rng = self._streams.noise if self.dynamics.obs_noise else None
        return self.builder.build(self.sim.observed_state(), command, self._last_action, rng)

    def _info(self, extra: dict[str, Any]) -> dict[str, Any]:
        info = dict(extra)
        info["dynamics"] = self.sim.dynamics_dict()
        if self.privileged:
            info["privileged"] = self.sim.privileged()
        return info

    @property
    def command(self) -> np.ndarray:
        return self.task.command

    # ---- rendering ----------------------------------------------------------------
    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        c = self.sim.robot.client
        if self.sim.robot.floating:
            target = list(self.sim.robot.base_pose()[0])
            dist, yaw, pitch = 1.2, 45.0, -25.0
        else:
            target = [0.0, 0.0, 0.5]
            dist = float(self.robot_spec.task.params.get("camera_distance", 3.0))
            yaw, pitch = 0.0, -15.0
        view = c.computeViewMatrixFromYawPitchRoll(target, dist, yaw, pitch, 0.0, 2)
        proj = c.computeProjectionMatrixFOV(60.0, self.width / self.height, 0.05, 20.0)
        _, _, rgba, _, _ = c.getCameraImage(self.width, self.height, view, proj,
                                            renderer=pb.ER_TINY_RENDERER)
        img = np.asarray(rgba, dtype=np.uint8).reshape(self.height, self.width, 4)
        return img[:, :, :3].copy()

    def close(self) -> None:
        if getattr(self, "sim", None) is not None:
            self.sim.close()
            self.sim = None  # type: ignore[assignment]
