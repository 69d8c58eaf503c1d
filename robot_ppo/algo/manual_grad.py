"""PPO loss and its gradient written out by hand in numpy, for the common model shape.

Why: with 64-sample minibatches and 64-unit MLPs each op costs microseconds, and the
autograd engine's bookkeeping (graph nodes, saved tensors, hooks) costs more than the
arithmetic. Writing the backward pass by hand removes the engine; doing it in numpy on
views of the model's own memory removes torch's dispatch cost per op as well (its CPU
tanh alone is ~5× numpy's at this size). With SB3-style settings (10 epochs × 32
minibatches per 2048 samples) the update is most of PPO's compute, and this makes it
~2.5× faster than autograd + torch.optim.Adam. The torch model stays the source of truth:
weights and gradients are numpy views of the parameters and of `FlatAdam`'s flat
gradient buffer, so nothing is copied. `tests/robot_ppo/test_algo_manual_grad.py` holds
these gradients equal to autograd's on every supported configuration.

Supported: CPU model, state-independent log-std, hidden activation tanh|elu|relu,
optional privileged critic input, value clipping on or off. Anything else
(state-dependent std, recurrent models) uses autograd (`PPO` picks automatically).

Notation per minibatch of B samples: z = (a − μ)·e^{−s} (s = log σ),
    log π  = Σ_i [−½ z_i² − s_i − ½ log 2π]
    ∂log π/∂μ_i = z_i e^{−s_i},   ∂log π/∂s_i = z_i² − 1
    ρ = exp(log π − log π_old); the clipped surrogate −min(ρA, clip(ρ)A) has
    ∂/∂log π = −ρA where ρA ≤ clip(ρ)A (the unclipped branch is active), else 0.
    value: ∂[½(V−R)²]/∂V = V − R; with clipping, the larger of the two squared errors
    wins and the clipped branch passes gradient only while |V − V_old| ≤ c.
The MLPs' forward and backward (∂L/∂W = dzᵀ h, ...) are numpy_mlp.py's, shared with sampling.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from robot_ppo.algo import numpy_mlp
from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.distributions import ENTROPY_PER_DIM, gaussian_log_prob_np
from robot_ppo.algo.numpy_mlp import NumpyMLP, grad_view, view


class LossValues(NamedTuple):
    total: float
    policy: float
    value: float
    entropy: float
    approx_kl: float
    clip_fraction: float


def supports(model: object) -> bool:
    """What the numpy MLP supports (numpy_mlp.supports), with a state-independent log σ:
    a state-dependent head's gradient is not written here, so such models use autograd."""
    return numpy_mlp.supports(model) and getattr(model, "std_mode", None) == "state_independent"


class ManualLoss:
    """Forward + backward of the PPO loss; writes `.grad` of every model parameter."""

    def __init__(self, model: ActorCritic) -> None:
        if not supports(model):
            raise ValueError("manual gradients need a CPU model with a state-independent "
                             "std and tanh/elu/relu activations")
        self.model = model
        self.act_dim = model.act_dim
        # Views are taken once: parameters and gradients are updated in place afterwards.
        self.actor = NumpyMLP.of(model.actor_body, model.mu, model.activation)
        self.critic = NumpyMLP.of(model.critic_body, model.value_head, model.activation)
        self.actor.bind_grads()
        self.critic.bind_grads()
        assert model.log_std is not None
        self.log_std = view(model.log_std)
        self.log_std_grad = grad_view(model.log_std)

    def __call__(self, obs: np.ndarray, priv: np.ndarray | None, actions: np.ndarray,
                 old_log_prob: np.ndarray, advantages: np.ndarray, old_values: np.ndarray,
                 returns: np.ndarray, clip: float, value_clip: float, vf_coef: float,
                 ent_coef: float) -> LossValues:
        """Loss terms of one minibatch; the gradient of `total` is left in the params."""
        n = obs.shape[0]
        log_std = self.log_std
        inv_std = np.exp(-log_std)

        actor_hs = self.actor.activations(obs)
        z = (actions - actor_hs[-1]) * inv_std
        log_prob = gaussian_log_prob_np(z, log_std)
        log_ratio = log_prob - old_log_prob
        ratio = np.exp(log_ratio)
        surr = ratio * advantages
        surr_clipped = np.clip(ratio, 1.0 - clip, 1.0 + clip) * advantages
        active = surr <= surr_clipped
        policy_loss = -float(np.where(active, surr, surr_clipped).mean())
        entropy = float(log_std.sum()) + self.act_dim * ENTROPY_PER_DIM

        critic_in = obs if priv is None else np.concatenate((obs, priv), axis=1)
        critic_hs = self.critic.activations(critic_in)
        values = critic_hs[-1][:, 0]
        err = values - returns
        if value_clip > 0:
            delta = values - old_values
            err_clipped = old_values + np.clip(delta, -value_clip, value_clip) - returns
            sq, sq_clipped = err * err, err_clipped * err_clipped
            use_plain = sq >= sq_clipped
            value_loss = 0.5 * float(np.where(use_plain, sq, sq_clipped).mean())
            d_values = np.where(use_plain, err,
                                err_clipped * (np.abs(delta) <= value_clip)) * (vf_coef / n)
        else:
            value_loss = 0.5 * float((err * err).mean())
            d_values = err * (vf_coef / n)
        total = policy_loss + vf_coef * value_loss - ent_coef * entropy

        # ∂L/∂log π per sample, then through the Gaussian to μ and s
        d_logp = (np.where(active, surr, 0.0) * (-1.0 / n))[:, None]
        d_mean = (d_logp * z * inv_std).astype(obs.dtype, copy=False)
        self.log_std_grad[...] = (d_logp * (z * z - 1.0)).sum(0) - ent_coef
        self.actor.backward(actor_hs, d_mean)
        self.critic.backward(critic_hs, d_values[:, None].astype(obs.dtype, copy=False))

        approx_kl = float(((ratio - 1.0) - log_ratio).mean())
        clip_fraction = float((np.abs(ratio - 1.0) > clip).mean())
        return LossValues(total, policy_loss, value_loss, entropy, approx_kl, clip_fraction)
