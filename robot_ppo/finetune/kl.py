"""Analytic KL divergence between diagonal Gaussian policies."""

from __future__ import annotations

import torch


def gaussian_kl(mean_p: torch.Tensor, log_std_p: torch.Tensor, mean_q: torch.Tensor,
                log_std_q: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) per sample, summed over action dimensions, for p = N(μ_p, σ_p²),
    q = N(μ_q, σ_q²):
        Σ_i [ log σ_q,i − log σ_p,i + (σ_p,i² + (μ_p,i − μ_q,i)²) / (2 σ_q,i²) − ½ ].
    Log-stds broadcast against the means ([A] or [B, A]); returns shape [B]."""
    var_p = torch.exp(2.0 * log_std_p)
    var_q = torch.exp(2.0 * log_std_q)
    per_dim = (log_std_q - log_std_p + (var_p + (mean_p - mean_q).square()) / (2.0 * var_q)
               - 0.5)
    return per_dim.expand_as(mean_p).sum(-1)
