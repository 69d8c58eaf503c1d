"""Rollout storage: tensors of shape [T, N, ...] allocated once, and GAE(γ, λ).

T is the number of steps per env per iteration, N the number of envs. The collection
loop writes one row per env step (`add_policy_step`, then `add_env_step`); writing a
(T+1)-th row before `clear()` raises, so a loop bug cannot silently wrap around.

Observations are stored *normalized*, exactly as the network saw them when the action
was sampled, so the first minibatch of an update reproduces the stored log-probs
(ratio = 1) even though the normalizer moved during collection.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class Minibatch(NamedTuple):
    """One minibatch of flattened samples (all tensors have leading dim B)."""

    obs: torch.Tensor
    privileged: torch.Tensor | None
    actions: torch.Tensor
    old_log_prob: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor


class RolloutStorage:
    """Preallocated [T, N, ...] buffers for one PPO iteration."""

    def __init__(self, num_steps: int, num_envs: int, obs_dim: int, act_dim: int,
                 privileged_dim: int | None = None) -> None:
        self.num_steps, self.num_envs = int(num_steps), int(num_envs)
        t, n = self.num_steps, self.num_envs
        self.obs = torch.zeros(t, n, obs_dim)
        self.privileged = torch.zeros(t, n, privileged_dim) if privileged_dim else None
        self.actions = torch.zeros(t, n, act_dim)
        self.log_probs = torch.zeros(t, n)
        self.values = torch.zeros(t, n)
        self.rewards = torch.zeros(t, n)
        # done = terminated or truncated: the next stored obs belongs to a new episode.
        self.dones = torch.zeros(t, n)
        # V(true final observation) where the episode was truncated, else 0.
        self.bootstrap_values = torch.zeros(t, n)
        self.advantages = torch.zeros(t, n)
        self.returns = torch.zeros(t, n)
        self.step = 0
        # numpy views (shared memory) for the per-step writes of the collection loop
        names = ["obs", "actions", "log_probs", "values", "rewards", "dones",
                 "bootstrap_values"] + ([] if self.privileged is None else ["privileged"])
        self._np: dict[str, np.ndarray] = {k: getattr(self, k).numpy() for k in names}

    def clear(self) -> None:
        self.step = 0

    @property
    def full(self) -> bool:
        return self.step >= self.num_steps

    def add_policy_step(self, obs_n: np.ndarray, priv_n: np.ndarray | None,
                        actions: np.ndarray, log_probs: np.ndarray,
                        values: np.ndarray) -> None:
        """Record what the policy saw and did at the current step (numpy rows of N)."""
        if self.step >= self.num_steps:
            raise RuntimeError(f"rollout storage overflow: {self.num_steps} steps already "
                               "stored; call compute_returns/update and clear() first")
        i = self.step
        v = self._np
        v["obs"][i] = obs_n
        if priv_n is not None and "privileged" in v:
            v["privileged"][i] = priv_n
        v["actions"][i] = actions
        v["log_probs"][i] = log_probs
        v["values"][i] = values

    def add_env_step(self, rewards: np.ndarray, dones: np.ndarray,
                     bootstrap_values: np.ndarray | float) -> None:
        """Record the env's answer to the current step and advance."""
        i = self.step
        v = self._np
        v["rewards"][i] = rewards
        v["dones"][i] = dones
        v["bootstrap_values"][i] = bootstrap_values
        self.step += 1

    def compute_returns(self, last_values: np.ndarray, gamma: float, lam: float) -> None:
        """GAE(γ, λ) over the stored rollout; fills `advantages` and `returns`.

        `last_values` is V(s_T) for the observation that follows the last stored step.
        The recursion runs in numpy on views of the tensors: T small per-step ops are
        several times cheaper there than as torch ops.
        """
        if self.step != self.num_steps:
            raise RuntimeError(f"rollout incomplete: {self.step}/{self.num_steps} steps")
        values = self.values.numpy()
        rewards = self.rewards.numpy()
        dones = self.dones.numpy()
        boot = self.bootstrap_values.numpy()
        adv = self.advantages.numpy()
        next_values = np.asarray(last_values, dtype=np.float32)
        last_adv = np.zeros(self.num_envs, dtype=np.float32)
        for t in reversed(range(self.num_steps)):
            not_done = 1.0 - dones[t]
            # Value of the true next state: V(s_{t+1}) within an episode, V(final obs) when
            # truncated by a time limit (boot holds it), 0 when terminated.
            next_v = next_values * not_done + boot[t]
            # TD error: δ_t = r_t + γ V(s_{t+1}) (1 − terminated_t) − V(s_t)
            delta = rewards[t] + gamma * next_v - values[t]
            # Advantage recursion: A_t = δ_t + γλ (1 − done_t) A_{t+1}
            last_adv = delta + gamma * lam * not_done * last_adv
            adv[t] = last_adv
            next_values = values[t]
        # Return target for the critic: R_t = A_t + V(s_t)
        torch.add(self.advantages, self.values, out=self.returns)

    def flat(self) -> Minibatch:
        """All samples flattened to [T·N, ...] (views, no copy)."""
        b = self.num_steps * self.num_envs
        return Minibatch(
            obs=self.obs.view(b, -1),
            privileged=None if self.privileged is None else self.privileged.view(b, -1),
            actions=self.actions.view(b, -1),
            old_log_prob=self.log_probs.view(b),
            old_values=self.values.view(b),
            advantages=self.advantages.view(b),
            returns=self.returns.view(b),
        )
