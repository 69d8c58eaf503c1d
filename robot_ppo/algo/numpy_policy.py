"""The collection-time policy in numpy, reading the torch model's memory in place.

Why: sampling actions for N envs is ~15 tiny matrix ops per env step; each costs ~1 µs in
numpy and 3–8 µs through torch's dispatcher, so collection overhead drops ~4× (it matters
most for cheap envs like Pendulum, where the policy costs more than the env).

No copies: weights are numpy views of the model's parameters (which `FlatAdam` keeps in
one flat CPU buffer), and the normalizer statistics are views of its buffers, so every
optimizer step and every statistics update is seen at once by both sides. The model must
stay on the CPU, and parameters must not be re-allocated after construction
(`load_state_dict` copies in place, which is fine).
tests/robot_ppo/test_algo_numpy_policy.py holds it equal to the torch model.
The MLP forward is numpy_mlp.py's (shared with the hand-written gradient); MLPs only
(`supports`); recurrent models collect with recurrent_policy.TorchRecurrentPolicy.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from robot_ppo.algo.actor_critic import LOG_STD_MAX, LOG_STD_MIN, ActorCritic
from robot_ppo.algo.distributions import gaussian_log_prob_np
from robot_ppo.algo.noise import LowpassNoise, WhiteNoise
from robot_ppo.algo.normalizer import RunningMeanStd
from robot_ppo.algo.numpy_mlp import NumpyMLP, supports, view

__all__ = ["InputStats", "NumpyPolicy", "supports"]


class _Stats:
    """numpy views of a RunningMeanStd's buffers, with the same Chan merge."""

    def __init__(self, rms: RunningMeanStd) -> None:
        self.mean = view(rms.mean)
        self.var = view(rms.var)
        self.count = view(rms.count)
        self.clip = rms.clip
        self.eps = rms.epsilon

    def update(self, x: np.ndarray) -> None:
        n_b = x.shape[0]
        xd = x.astype(np.float64)
        # sums rather than np.mean/np.var: those add ~15 µs of Python per env step
        b_mean = xd.sum(0) / n_b
        centered = xd - b_mean
        b_var = (centered * centered).sum(0) / n_b
        n_a = float(self.count)
        n = n_a + n_b
        delta = b_mean - self.mean
        self.mean[...] = self.mean + delta * (n_b / n)
        self.var[...] = (self.var * n_a + b_var * n_b + delta * delta * (n_a * n_b / n)) / n
        self.count[...] = n

    def normalize(self, x: np.ndarray) -> np.ndarray:
        y = (x - self.mean) / np.sqrt(self.var + self.eps)
        return np.clip(y, -self.clip, self.clip, out=y)


class InputStats:
    """The collection loop's view of a model's observation normalizers: `update_stats` merges
    a batch into the running statistics in place (numpy views of the torch buffers) and
    `normalize` applies them. Shared by the numpy MLP policy and the torch recurrent one."""

    def __init__(self, model: nn.Module) -> None:
        normalize = bool(model.normalize_obs)
        critic_rms = model.critic_normalizer
        self.obs_stats = _Stats(model.obs_normalizer) if normalize else None  # type: ignore[arg-type]
        self.priv_stats = (_Stats(critic_rms)  # type: ignore[arg-type]
                           if normalize and critic_rms is not None else None)

    def normalize(self, obs: np.ndarray, priv: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        obs_n = obs if self.obs_stats is None else self.obs_stats.normalize(obs)
        priv_n = priv if (priv is None or self.priv_stats is None) else \
            self.priv_stats.normalize(priv)
        return obs_n.astype(np.float32, copy=False), (
            None if priv_n is None else priv_n.astype(np.float32, copy=False))

    def update_stats(self, obs: np.ndarray, priv: np.ndarray | None) -> None:
        if self.obs_stats is not None:
            self.obs_stats.update(obs)
        if self.priv_stats is not None and priv is not None:
            self.priv_stats.update(priv)


class NumpyPolicy(InputStats):
    """Sampling, log-probs and values for a batch of raw observations, in numpy."""

    def __init__(self, model: ActorCritic, rng: np.random.Generator) -> None:
        if not supports(model):
            raise ValueError("NumpyPolicy supports feed-forward ActorCritic models on the CPU "
                             "only")
        self.model = model
        self.rng = rng
        # None: i.i.d. N(0, 1) drawn here; else a per-env source (noise.py, e.g. low-pass)
        # that must be built for the same number of envs as every `sample` batch.
        self.noise: WhiteNoise | LowpassNoise | None = None
        self.act_dim = model.act_dim
        self.actor = NumpyMLP.of(model.actor_body, model.mu, model.activation)
        self.critic = NumpyMLP.of(model.critic_body, model.value_head, model.activation)
        self.log_std = None if model.log_std is None else view(model.log_std)
        self.log_std_head = (None if model.log_std_head is None else
                             (view(model.log_std_head.weight).T,
                              view(model.log_std_head.bias)))
        super().__init__(model)

    def mean_log_std(self, obs_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.actor.trunk(obs_n)
        mean = self.actor.head(h)
        if self.log_std_head is None:
            assert self.log_std is not None
            return mean, self.log_std
        wl, bl = self.log_std_head
        return mean, np.clip(h @ wl + bl, LOG_STD_MIN, LOG_STD_MAX)

    def value_normalized(self, obs_n: np.ndarray, priv_n: np.ndarray | None) -> np.ndarray:
        x = obs_n if priv_n is None else np.concatenate((obs_n, priv_n), axis=1)
        return self.critic(x)[:, 0]

    def value(self, obs: np.ndarray, priv: np.ndarray | None) -> np.ndarray:
        obs_n, priv_n = self.normalize(obs, priv)
        return self.value_normalized(obs_n, priv_n)

    def sample(self, obs_n: np.ndarray, priv_n: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(actions, log π(a|s), V(s)) for normalized inputs."""
        mean, log_std = self.mean_log_std(obs_n)
        noise = (self.rng.standard_normal(mean.shape, dtype=np.float32)
                 if self.noise is None else self.noise.sample())
        # a = μ + σ·ξ, so ξ is the standardized action the log-density is written on
        actions = mean + noise * np.exp(log_std)
        return actions, gaussian_log_prob_np(noise, log_std), self.value_normalized(obs_n, priv_n)
