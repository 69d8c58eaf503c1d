"""Adam over one flat buffer that holds every parameter of the model.

Why: with ~10 small parameter tensors, torch.optim.Adam spends far more time in Python
(grouping tensors, per-step bookkeeping) than in arithmetic; with all parameters as views
of one contiguous vector, an Adam step is six vector ops and the global gradient norm is
one. The update math is torch.optim.Adam's (no weight decay, no amsgrad):

    m ← β₁m + (1−β₁)g;   v ← β₂v + (1−β₂)g²
    θ ← θ − lr · (m / (1−β₁ᵗ)) / (sqrt(v / (1−β₂ᵗ)) + ε)

`state_dict()` is written in torch.optim.Adam's format (per-parameter exp_avg/exp_avg_sq,
one param group), so a checkpoint's `optimizer_state` also loads into a plain
`torch.optim.Adam(model.parameters())`, and `load_state_dict` accepts one saved by it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def flatten_parameters(params: list[nn.Parameter]) -> tuple[torch.Tensor, torch.Tensor]:
    """Re-home every parameter (and its .grad) as views of two flat buffers."""
    total = sum(p.numel() for p in params)
    ref = params[0]
    flat = torch.empty(total, dtype=ref.dtype, device=ref.device)
    flat_grad = torch.zeros(total, dtype=ref.dtype, device=ref.device)
    offset = 0
    for p in params:
        n = p.numel()
        flat[offset:offset + n].copy_(p.detach().reshape(-1))
        p.data = flat[offset:offset + n].view_as(p)
        p.grad = flat_grad[offset:offset + n].view_as(p)
        offset += n
    return flat, flat_grad


class FlatAdam:
    """Adam on flat buffers; see the module docstring."""

    def __init__(self, params: list[nn.Parameter], lr: float, betas: tuple[float, float] = (
            0.9, 0.999), eps: float = 1e-5) -> None:
        self.params = list(params)
        self.flat, self.flat_grad = flatten_parameters(self.params)
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.step_count = 0
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self._denom = torch.empty_like(self.flat)

    def zero_grad(self) -> None:
        self.flat_grad.zero_()

    def clip_grad_norm(self, max_norm: float) -> float:
        """Scale the gradient to norm ≤ max_norm; returns the norm before clipping."""
        norm = float(torch.linalg.vector_norm(self.flat_grad))
        if max_norm > 0 and norm > max_norm:
            self.flat_grad.mul_(max_norm / (norm + 1e-6))
        return norm

    @torch.no_grad()
    def step(self) -> None:
        b1, b2 = self.betas
        self.step_count += 1
        t = self.step_count
        g = self.flat_grad
        self.exp_avg.lerp_(g, 1.0 - b1)                       # m ← β₁m + (1−β₁)g
        self.exp_avg_sq.mul_(b2).addcmul_(g, g, value=1.0 - b2)  # v ← β₂v + (1−β₂)g²
        bias1 = 1.0 - b1 ** t
        bias2_sqrt = math.sqrt(1.0 - b2 ** t)
        torch.sqrt(self.exp_avg_sq, out=self._denom)
        self._denom.div_(bias2_sqrt).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, self._denom, value=-self.lr / bias1)

    # ---- torch.optim.Adam-compatible state ----------------------------------------------
    def _split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        out, offset = [], 0
        for p in self.params:
            n = p.numel()
            out.append(flat[offset:offset + n].view_as(p).clone())
            offset += n
        return out

    def state_dict(self) -> dict[str, Any]:
        state: dict[int, dict[str, Any]] = {}
        if self.step_count > 0:
            for i, (m, v) in enumerate(zip(self._split(self.exp_avg),
                                           self._split(self.exp_avg_sq))):
                state[i] = {"step": torch.tensor(float(self.step_count)), "exp_avg": m,
                            "exp_avg_sq": v}
        group = {"lr": self.lr, "betas": list(self.betas), "eps": self.eps,
                 "weight_decay": 0.0, "amsgrad": False, "maximize": False, "foreach": None,
                 "capturable": False, "differentiable": False, "fused": None,
                 "decoupled_weight_decay": False, "params": list(range(len(self.params)))}
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        group = sd["param_groups"][0]
        if len(group["params"]) != len(self.params):
            raise ValueError(f"optimizer state has {len(group['params'])} parameters, the "
                             f"model {len(self.params)}")
        self.lr = float(group["lr"])
        self.betas = (float(group["betas"][0]), float(group["betas"][1]))
        self.eps = float(group["eps"])
        state = sd["state"]
        if not state:
            self.step_count = 0
            self.exp_avg.zero_()
            self.exp_avg_sq.zero_()
            return
        offset = 0
        for i, p in enumerate(self.params):
            n = p.numel()
            s = state[i] if i in state else state[str(i)]
            self.exp_avg[offset:offset + n].copy_(s["exp_avg"].reshape(-1))
            self.exp_avg_sq[offset:offset + n].copy_(s["exp_avg_sq"].reshape(-1))
            offset += n
        self.step_count = int(float(state[next(iter(state))]["step"]))
