"""The actor-critic's MLPs in numpy, on views of the torch layers' memory: forward for
sampling (numpy_policy.py), forward with saved activations and backward for the
hand-written PPO gradient (manual_grad.py).

Why numpy: at PPO's sizes (64-unit layers, batches of 8 to 64 rows) each op costs ~1 µs in
numpy against 3–8 µs through torch's dispatcher and autograd. Why views: `FlatAdam` keeps
every parameter (and gradient) in one flat CPU buffer and updates it in place, so a view
taken once sees every optimizer step without a copy. The torch model (actor_critic.py) stays the
source of truth and the only thing autograd and the exporter see.

Layer k computes h_k = σ(h_{k−1} W_kᵀ + b_k) with σ the model's activation, and the last
layer is linear (a head). Backward, per layer:
    ∂L/∂W = dzᵀ h_in,   ∂L/∂b = Σ_rows dz,   ∂L/∂h_in = dz W, then through σ'.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from robot_ppo.algo.actor_critic import ActorCritic

ACTIVATIONS = ("tanh", "elu", "relu")
"""The hidden activations written here (all that ActorCritic offers)."""


def supports(model: object) -> bool:
    """True for a feed-forward ActorCritic on the CPU with an activation written here; the
    numpy paths read its memory in place. False for recurrent models (and anything else)."""
    return (isinstance(model, ActorCritic) and not getattr(model, "is_recurrent", False)
            and model.activation in ACTIVATIONS
            and all(p.device.type == "cpu" for p in model.parameters()))


def view(t: torch.Tensor) -> np.ndarray:
    """numpy view of a CPU tensor's memory (no copy)."""
    return t.detach().numpy()


def grad_view(p: torch.Tensor) -> np.ndarray:
    """numpy view of p.grad, allocated when absent (FlatAdam pre-allocates it flat)."""
    if p.grad is None:
        p.grad = torch.zeros_like(p)
    return p.grad.numpy()


def activate(z: np.ndarray, activation: str) -> np.ndarray:
    """σ(z); tanh and relu overwrite z (it is a fresh pre-activation, never kept)."""
    if activation == "tanh":
        return np.tanh(z, out=z)
    if activation == "relu":
        return np.maximum(z, 0.0, out=z)
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))


def activation_grad(dh: np.ndarray, h: np.ndarray, activation: str) -> np.ndarray:
    """∂L/∂z from ∂L/∂h, written with the layer's output h = σ(z)."""
    if activation == "tanh":
        return dh * (1.0 - h * h)       # tanh' = 1 − tanh²
    if activation == "relu":
        return dh * (h > 0)             # relu' = 1[z > 0]
    return dh * np.where(h > 0, 1.0, h + 1.0)  # elu' = 1 (z > 0) or e^z = h + 1


class NumpyMLP:
    """Hidden layers (`activation`) then a linear head, over `linears` in order."""

    def __init__(self, linears: list[nn.Linear], activation: str) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        self._linears = linears
        self.weights = [view(m.weight) for m in linears]    # [out, in]
        self.weights_t = [w.T for w in self.weights]        # [in, out], also a view
        self.biases = [view(m.bias) for m in linears]
        self.weight_grads: list[np.ndarray] = []
        self.bias_grads: list[np.ndarray] = []

    @classmethod
    def of(cls, body: nn.Sequential, head: nn.Linear, activation: str) -> NumpyMLP:
        """The MLP of a torch trunk (Linear + activation modules) and its head."""
        return cls([*[m for m in body if isinstance(m, nn.Linear)], head], activation)

    def bind_grads(self) -> None:
        """Take views of the parameters' gradients, which `backward` then writes."""
        self.weight_grads = [grad_view(m.weight) for m in self._linears]
        self.bias_grads = [grad_view(m.bias) for m in self._linears]

    def trunk(self, x: np.ndarray) -> np.ndarray:
        """The last hidden layer's output (the input of the head, and of any other head
        on the same trunk such as a state-dependent log σ)."""
        h = x
        for w, b in zip(self.weights_t[:-1], self.biases[:-1], strict=True):
            h = activate(h @ w + b, self.activation)
        return h

    def head(self, h: np.ndarray) -> np.ndarray:
        return h @ self.weights_t[-1] + self.biases[-1]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.head(self.trunk(x))

    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """[input, h_1, ..., h_L, output]: the forward pass with what `backward` needs."""
        hs = [x]
        for w, b in zip(self.weights_t[:-1], self.biases[:-1], strict=True):
            hs.append(activate(hs[-1] @ w + b, self.activation))
        hs.append(self.head(hs[-1]))
        return hs

    def backward(self, hs: list[np.ndarray], d_out: np.ndarray) -> None:
        """Write ∂L/∂W, ∂L/∂b of every layer (overwriting) from ∂L/∂output; needs
        `bind_grads` first and the `activations` of the same forward pass."""
        dz = d_out
        for k in range(len(self.weights) - 1, -1, -1):
            h_in = hs[k]
            np.matmul(dz.T, h_in, out=self.weight_grads[k])  # ∂L/∂W = dzᵀ h
            np.sum(dz, axis=0, out=self.bias_grads[k])        # ∂L/∂b = Σ dz
            if k > 0:  # ∂L/∂h = dz W, then through σ'
                dz = activation_grad(dz @ self.weights[k], h_in, self.activation)
