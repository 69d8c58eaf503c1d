"""Mean-action ADR probes (`robot-ppo train --adr-probe-envs N`).

Why: the robot runs the policy's mean action, but ADR normally judges each range boundary
by training episodes, whose actions are sampled (mean + σ·ε). A policy can walk with the
noise and stand without it (docs/robustness.md, "mean action → sampled"), and ADR then
widens ranges for a gait the exported policy does not have. Probes are N extra envs in the
trainer's process that run the mean action and are never stored in the PPO batch; built
with `adr_role="probe"` (sim/env.py), their episode ends are the only ones that feed the
ADR queues and the relative-threshold reference, while the training envs (`"train"`) feed
only the disturbance curriculum.

Contract:
    probes = AdrProbes(factory, n, model, action_low, action_high, seed)
    probes.step()              # one control step in every probe env, after each training step
    probes.performances        # normalized performance of the latest finished probe episodes
    probes.close()

A recurrent policy keeps one hidden state per probe env, zeroed when its episode ends, as
the runtime does. The model's observation normalizer is only read, never updated.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from robot_ppo.algo.models import AnyActorCritic
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.train.vec_env import EnvFactory

PROBE_SEED_OFFSET = 1_000_003
"""Probe env k resets with seed + PROBE_SEED_OFFSET + k, away from the training envs'
seed + i."""


class AdrProbes:
    """N envs stepped with the policy's mean action (module doc)."""

    def __init__(self, factory: EnvFactory, n: int, model: AnyActorCritic,
                 action_low: np.ndarray, action_high: np.ndarray, seed: int | None,
                 window: int = 20) -> None:
        if n < 1:
            raise ValueError("AdrProbes needs at least one env")
        self.model = model
        self.low, self.high = action_low, action_high
        self.envs = [factory() for _ in range(n)]
        self.performances: deque[float] = deque(maxlen=max(1, window))
        """adr/performance of the last `window` finished probe episodes."""
        self.episodes = 0
        obs = [env.reset(seed=None if seed is None else seed + PROBE_SEED_OFFSET + k)[0]
               for k, env in enumerate(self.envs)]
        self.obs = np.asarray(obs, dtype=np.float32).reshape(n, -1)
        self.hidden = (model.zero_state(n) if isinstance(model, RecurrentActorCritic)
                       else None)

    def mean_actions(self) -> np.ndarray:
        """The policy's mean action for every probe env's current observation, [N, A]."""
        with torch.no_grad():
            obs = torch.as_tensor(self.obs)
            if self.hidden is None:
                mean = self.model.actor_mean(obs)
            else:
                assert isinstance(self.model, RecurrentActorCritic)
                mean, _, self.hidden = self.model.step_raw(obs, self.hidden)
        return mean.numpy()

    def step(self) -> None:
        actions = np.clip(self.mean_actions(), self.low, self.high)
        for k, env in enumerate(self.envs):
            obs, _, terminated, truncated, info = env.step(actions[k])
            if terminated or truncated:
                metrics = info.get("episode_metrics", {})
                if "adr/performance" in metrics:
                    self.performances.append(float(metrics["adr/performance"]))
                self.episodes += 1
                obs, _ = env.reset()
                if self.hidden is not None:
                    self.hidden[:, k] = 0.0
            self.obs[k] = np.asarray(obs, dtype=np.float32).reshape(-1)

    def mean_performance(self) -> float:
        return float(np.mean(self.performances)) if self.performances else float("nan")

    def close(self) -> None:
        for env in self.envs:
            env.close()
