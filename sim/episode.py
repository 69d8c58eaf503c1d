"""How an episode starts, shared by the env and the plant so both start identically.

A seed is split into three independent generators (numpy SeedSequence.spawn):
  dynamics — reset sampling, drift, sudden events, pushes (used by `Simulator` only)
  task     — initial state, then commands
  noise    — observation noise (env only)
so the plant, which has no observation noise and no commands, still draws the same dynamics
and initial state as `env.reset(seed=s)`.
"""

from __future__ import annotations

import numpy as np

from robot_ppo.action import ActionMapping, JointCommand
from sim.simulator import Simulator
from sim.tasks import Task


class Streams:
    def __init__(self, seed: int):
        dyn, task, noise = np.random.SeedSequence(seed).spawn(3)
        self.dynamics = np.random.default_rng(dyn)
        self.task = np.random.default_rng(task)
        self.noise = np.random.default_rng(noise)


def initial_command(mapping: ActionMapping) -> JointCommand:
    """Zero action mapped: hold the default pose (position mode) or zero torque."""
    return mapping.to_command(mapping.targets(np.zeros(mapping.spec.act_dim)))


def start_episode(sim: Simulator, task: Task, mapping: ActionMapping, streams: Streams) -> None:
    sim.episode.begin(task)  # the disturbance curriculum's scale, before the draw it scales
    init = task.initial_state(streams.task)
    sim.reset(streams.dynamics, init.q, init.qd, initial_command(mapping), init.base_pos,
              init.base_quat)
