"""Collection-time policy for recurrent models: torch, carrying one hidden state per env.

Same verbs as `NumpyPolicy` (update_stats, normalize, sample, value) so `PPO.act` reads the
same for both; the hand-written numpy path covers MLPs only (`numpy_policy.supports`).

State bookkeeping: `h_actor`, `h_critic` [1, N, H] are the states *before* the current
observation. `sample` advances both; `value` (bootstrap of a truncated episode's final
observation, or V(s_T) after the rollout) runs the critic from the current state without
committing it; `reset(mask)` zeroes the rows of envs whose episode ended, after their
bootstrap value was taken.
"""

from __future__ import annotations

import numpy as np
import torch

from robot_ppo.algo.distributions import gaussian_log_prob_np
from robot_ppo.algo.noise import LowpassNoise, WhiteNoise
from robot_ppo.algo.numpy_policy import InputStats
from robot_ppo.algo.recurrent import RecurrentActorCritic


class TorchRecurrentPolicy(InputStats):
    """Batched sampling for N envs with per-env GRU states (see module doc)."""

    def __init__(self, model: RecurrentActorCritic, num_envs: int,
                 noise: WhiteNoise | LowpassNoise) -> None:
        self.model = model
        self.noise = noise
        self.act_dim = model.act_dim
        self.h_actor = model.zero_state(num_envs)
        self.h_critic = model.zero_state(num_envs)
        # numpy views of the normalizer buffers: stats move in place, as on the MLP path
        super().__init__(model)

    def sample(self, obs_n: np.ndarray, priv_n: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(actions, log π(a|s, h), V(s, h)) for normalized inputs; advances the states."""
        m = self.model
        with torch.no_grad():
            o = torch.from_numpy(obs_n)
            mean_t, log_std_t, self.h_actor = m.actor_step(o, self.h_actor)
            x = m.critic_input(o, None if priv_n is None else torch.from_numpy(priv_n))
            value_t, self.h_critic = m.critic_step(x, self.h_critic)
        mean, log_std = mean_t.numpy(), log_std_t.detach().numpy()
        eps = self.noise.sample()
        actions = mean + eps * np.exp(log_std)
        log_prob = gaussian_log_prob_np(eps, log_std)  # a = μ + σ·ε: ε is the standardized a
        return actions.astype(np.float32), log_prob.astype(np.float32), value_t.numpy()

    def value(self, obs: np.ndarray, priv: np.ndarray | None,
              rows: np.ndarray | None = None) -> np.ndarray:
        """V from the current critic state (rows `rows` of it, or all); not committed."""
        obs_n, priv_n = self.normalize(obs, priv)
        h = self.h_critic if rows is None else self.h_critic[:, rows]
        m = self.model
        with torch.no_grad():
            x = m.critic_input(torch.from_numpy(obs_n),
                               None if priv_n is None else torch.from_numpy(priv_n))
            v, _ = m.critic_step(x, h)
        return v.numpy()

    def reset(self, mask: np.ndarray) -> None:
        """Zero the states of envs whose episode ended (their next obs starts a new one)."""
        idx = torch.from_numpy(np.flatnonzero(mask))
        if len(idx):
            self.h_actor[:, idx] = 0.0
            self.h_critic[:, idx] = 0.0
        self.noise.reset(mask)
