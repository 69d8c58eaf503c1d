"""Simulated segments of the current policy, for mixing into a fine-tuning batch (--sim-mix).

Takes any gymnasium env (the command layer builds it with sim.make_env from the same
spec); this module never imports the simulator.

A recurrent policy acts as on the robot: its GRU state starts at zero with each episode
and is carried step to step. A segment must then begin at an episode start (fine-tuning
unrolls each segment from a zero state), so for a recurrent policy every `collect` starts
a fresh episode; a feed-forward policy's episode carries on across calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from robot_ppo.algo.distributions import gaussian_log_prob
from robot_ppo.algo.models import AnyActorCritic
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.finetune.segments import Segment


class SimCollector:
    """Steps one env with the current policy, keeping the episode across calls."""

    def __init__(self, env: Any, seed: int = 0) -> None:
        self.env = env
        self.seed = seed
        self.low = np.asarray(env.action_space.low, dtype=np.float32)
        self.high = np.asarray(env.action_space.high, dtype=np.float32)
        self._obs: np.ndarray | None = None
        self._h: torch.Tensor | None = None  # GRU state before self._obs (recurrent only)
        self._mid_episode = False
        self.episode_returns: list[float] = []
        self._ret = 0.0

    def _act(self, model: AnyActorCritic, obs_n: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ) for one normalized observation [1, D], advancing a GRU's state."""
        if isinstance(model, RecurrentActorCritic):
            if self._h is None:
                self._h = model.zero_state(1)
            mean, log_std, self._h = model.actor_step(obs_n, self._h)
            return mean, log_std
        return model.mean_log_std(obs_n)

    @torch.no_grad()
    def collect(self, model: AnyActorCritic, n_steps: int) -> list[Segment]:
        """`n_steps` transitions as segments (a new segment at each episode end)."""
        if self._obs is None:
            self._obs, _ = self.env.reset(seed=self.seed)
        elif self._mid_episode and isinstance(model, RecurrentActorCritic):
            # the unfinished episode's GRU past is not in any segment: start a new one
            self._obs, _ = self.env.reset()
            self._ret = 0.0
        self._h = None
        segments: list[Segment] = []
        obs_l: list[np.ndarray] = []
        act_l: list[np.ndarray] = []
        logp_l: list[float] = []
        rew_l: list[float] = []
        for k in range(n_steps):
            assert self._obs is not None
            o = torch.as_tensor(self._obs, dtype=torch.float32)[None]
            mean, log_std = self._act(model, model.norm_obs(o))
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
            self._mid_episode = not end
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
                self._h = None
                nxt, _ = self.env.reset()
            self._obs = nxt
        return segments
