"""Simulated segments of the current policy, for mixing into a fine-tuning batch (--sim-mix).

Takes any gymnasium env (the command layer builds it with sim.make_env from the same
spec); this module never imports the simulator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from robot_ppo.algo.distributions import gaussian_log_prob
from robot_ppo.algo.policy import ActorCritic
from robot_ppo.finetune.segments import Segment


class SimCollector:
    """Steps one env with the current policy, keeping the episode across calls."""

    def __init__(self, env: Any, seed: int = 0) -> None:
        self.env = env
        self.seed = seed
        self.low = np.asarray(env.action_space.low, dtype=np.float32)
        self.high = np.asarray(env.action_space.high, dtype=np.float32)
        self._obs: np.ndarray | None = None
        self.episode_returns: list[float] = []
        self._ret = 0.0

    @torch.no_grad()
    def collect(self, model: ActorCritic, n_steps: int) -> list[Segment]:
        """`n_steps` transitions as segments (a new segment at each episode end)."""
        if self._obs is None:
            self._obs, _ = self.env.reset(seed=self.seed)
        segments: list[Segment] = []
        obs_l: list[np.ndarray] = []
        act_l: list[np.ndarray] = []
        logp_l: list[float] = []
        rew_l: list[float] = []
        for k in range(n_steps):
            assert self._obs is not None
            o = torch.as_tensor(self._obs, dtype=torch.float32)[None]
            mean, log_std = model.mean_log_std(model.norm_obs(o))
            a = mean + torch.randn_like(mean) * torch.exp(log_std)
            logp = gaussian_log_prob(a, mean, log_std)
            action = a[0].numpy()
            nxt, r, terminated, truncated, _ = self.env.step(np.clip(action, self.low, self.high))
            obs_l.append(np.asarray(self._obs, np.float32))
            act_l.append(action)
            logp_l.append(float(logp))
            rew_l.append(float(r))
            self._ret += float(r)
            end = terminated or truncated
            if end or k == n_steps - 1:
                segments.append(Segment(np.stack(obs_l), np.stack(act_l),
                                        np.array(logp_l, np.float32), np.array(rew_l),
                                        bool(terminated),
                                        None if terminated else np.asarray(nxt, np.float32),
                                        source="sim"))
                obs_l, act_l, logp_l, rew_l = [], [], [], []
            if end:
                self.episode_returns.append(self._ret)
                self._ret = 0.0
                nxt, _ = self.env.reset()
            self._obs = nxt
        return segments
