"""Running mean/variance of observations, as a torch module stored inside the model.

Because the statistics are buffers of the model, they are saved with the weights
and the ONNX exporter copies them into the graph (the most common deployment bug
is a normalizer that is left behind; see docs/reference/ppo.md).

Statistics change only when `update()` is called; the trainer calls it during
collection only, never inside the PPO update, so every minibatch of an update
sees the same normalization that produced its stored log-probabilities.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class RunningMeanStd(nn.Module):
    """Per-feature running mean and (population) variance, merged batch by batch.

    Merging uses the parallel-variance formula (Chan et al.): for the old statistics
    (m_a, v_a, n_a) and a batch (m_b, v_b, n_b), with δ = m_b − m_a and n = n_a + n_b,
        m = m_a + δ·n_b/n
        v = (v_a·n_a + v_b·n_b + δ²·n_a·n_b/n) / n
    which equals the mean/variance over all samples seen so far.
    """

    mean: torch.Tensor
    var: torch.Tensor
    count: torch.Tensor

    def __init__(self, dim: int, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        super().__init__()
        self.dim = int(dim)
        self.clip = float(clip)
        self.epsilon = float(epsilon)
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float32))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float32))
        # float64 count: float32 stops counting exactly after 2**24 samples.
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge a batch `x` of shape [B, dim] into the statistics."""
        x = x.reshape(-1, self.dim)
        n_b = x.shape[0]
        if n_b == 0:
            return
        # Merge in float64: float32 drifts measurably after millions of samples.
        xd = x.double()
        batch_var, batch_mean = torch.var_mean(xd, dim=0, unbiased=False)
        n_a = self.count.item()
        n = n_a + n_b
        delta = batch_mean - self.mean.double()
        new_mean = self.mean.double() + delta * (n_b / n)
        m2 = self.var.double() * n_a + batch_var * n_b + delta.square() * (n_a * n_b / n)
        self.mean.copy_(new_mean)
        self.var.copy_(m2 / n)
        self.count.fill_(n)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(x − mean) / sqrt(var + ε), clipped to ±clip."""
        y = (x - self.mean) * torch.rsqrt(self.var + self.epsilon)
        return y.clamp(-self.clip, self.clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalize(x)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, clip={self.clip}, epsilon={self.epsilon}"


class RewardScaler:
    """Divides rewards by the running std of the discounted return (per-env accumulators).

    R_t = γ R_{t−1} + r_t (reset to 0 at episode end); r̃_t = r_t / sqrt(Var[R] + ε).
    The scale, not the mean, is removed: shifting rewards would change which policy is
    optimal when episodes can end early. Numpy only: it runs once per env step on N floats.
    """

    def __init__(self, num_envs: int, gamma: float, epsilon: float = 1e-8) -> None:
        self.gamma = float(gamma)
        self.epsilon = float(epsilon)
        self.ret = np.zeros(num_envs, dtype=np.float64)
        self.mean = 0.0
        self.var = 1.0
        self.count = 0.0

    def _update(self, x: np.ndarray) -> None:
        n_b = x.size
        b_mean, b_var = float(x.mean()), float(x.var())
        n = self.count + n_b
        delta = b_mean - self.mean
        self.mean += delta * n_b / n
        self.var = (self.var * self.count + b_var * n_b + delta**2 * self.count * n_b / n) / n
        self.count = n

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        self.ret = self.ret * self.gamma + rewards
        self._update(self.ret)
        self.ret[dones] = 0.0
        return (rewards / np.sqrt(self.var + self.epsilon)).astype(np.float32)

    def scale(self) -> float:
        return float(np.sqrt(self.var + self.epsilon))

    def state_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.mean, self.var, self.count = (float(state["mean"]), float(state["var"]),
                                           float(state["count"]))
