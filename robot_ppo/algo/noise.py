"""Exploration noise sources: white (i.i.d.) or low-pass (temporally correlated) N(0, 1).

Motors low-pass what they are sent; white noise at the control rate mostly shakes the
actuators without moving the robot anywhere. Low-pass noise, per env and action entry,

    ε_t = β ε_{t−1} + sqrt(1 − β²) ξ_t,    ξ_t ~ N(0, 1) i.i.d.,   ε_0 ~ N(0, 1)

is an AR(1) process whose marginal stays N(0, 1) (Var ε_t = β² + 1 − β² = 1) with
autocorrelation Corr(ε_t, ε_{t+k}) = β^k, i.e. a correlation time of about 1/(1 − β)
steps. The action is a_t = μ_t + σ_t ε_t, so the per-step Gaussian log-prob under the
policy is unchanged and PPO's ratio treats the noise as if it were i.i.d.: a known,
accepted approximation (the same one colored/pink-noise exploration makes). ε is redrawn
from N(0, 1) at each episode start (`reset(mask)`), so episodes are independent.
"""

from __future__ import annotations

import math

import numpy as np


class WhiteNoise:
    """ε_t ~ N(0, 1) i.i.d.; `reset` is a no-op."""

    def __init__(self, num_envs: int, act_dim: int, rng: np.random.Generator) -> None:
        self.shape = (int(num_envs), int(act_dim))
        self.rng = rng

    def sample(self) -> np.ndarray:
        return self.rng.standard_normal(self.shape, dtype=np.float32)

    def reset(self, mask: np.ndarray) -> None:
        pass


class LowpassNoise:
    """AR(1) noise with unit marginal variance (see module doc); one row per env."""

    def __init__(self, num_envs: int, act_dim: int, beta: float,
                 rng: np.random.Generator) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"noise_beta must be in [0, 1), got {beta}")
        self.shape = (int(num_envs), int(act_dim))
        self.beta = float(beta)
        self.gain = math.sqrt(1.0 - self.beta ** 2)
        self.rng = rng
        self.eps = np.zeros(self.shape, dtype=np.float32)
        self.fresh = np.ones(self.shape[0], dtype=bool)  # rows to redraw from N(0, 1)

    def sample(self) -> np.ndarray:
        xi = self.rng.standard_normal(self.shape, dtype=np.float32)
        self.eps *= self.beta
        self.eps += self.gain * xi
        if self.fresh.any():
            self.eps[self.fresh] = xi[self.fresh]  # stationary start: ε_0 ~ N(0, 1)
            self.fresh[:] = False
        return self.eps.copy()

    def reset(self, mask: np.ndarray) -> None:
        """Rows where `mask` is true start a new episode at their next sample."""
        self.fresh |= np.asarray(mask, dtype=bool)


def make_noise(kind: str, num_envs: int, act_dim: int, beta: float,
               rng: np.random.Generator) -> WhiteNoise | LowpassNoise:
    if kind == "white":
        return WhiteNoise(num_envs, act_dim, rng)
    if kind == "lowpass":
        return LowpassNoise(num_envs, act_dim, beta, rng)
    raise ValueError(f"noise must be white or lowpass, got {kind!r}")
