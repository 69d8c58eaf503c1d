"""Closed-form diagonal Gaussian: log-probability and entropy without torch.distributions.

torch.distributions validates arguments and builds objects on every call; in the
collection loop (one call per env step) and the update (one per minibatch) that
overhead is measurable, and the closed forms below are a handful of tensor ops.
The numpy paths (sampling, the hand-written gradient) use `gaussian_log_prob_np`, written
on z = (a − μ)/σ, which both already hold: the sampler drew it, the gradient needs it.
"""

from __future__ import annotations

import math

import numpy as np
import torch

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
"""½ log 2π: the normal density's constant per dimension."""
ENTROPY_PER_DIM = 0.5 + LOG_SQRT_2PI
"""A 1-D Gaussian's entropy is log σ + ½(1 + log 2π); this is the constant part."""


def gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor,
                      log_std: torch.Tensor) -> torch.Tensor:
    """Σ_i log N(a_i; μ_i, σ_i) = Σ_i [−½((a_i−μ_i)/σ_i)² − log σ_i − ½ log 2π], shape [B]."""
    z = (actions - mean) * torch.exp(-log_std)
    per_dim = -0.5 * z.square() - log_std - LOG_SQRT_2PI
    return per_dim.sum(-1)


def gaussian_log_prob_np(z: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """The same sum in numpy, from z = (a − μ)/σ: Σ_i [−½z_i² − log σ_i] − n·½ log 2π,
    shape [B] for z [B, n] and `log_std` [n] or [B, n]."""
    return (-0.5 * z * z - log_std).sum(-1) - z.shape[-1] * LOG_SQRT_2PI


def gaussian_entropy(log_std: torch.Tensor, act_dim: int) -> torch.Tensor:
    """Σ_i [½ + ½ log 2π + log σ_i]; `log_std` is [act_dim] or [B, act_dim]."""
    return log_std.sum(-1) + act_dim * ENTROPY_PER_DIM

