"""Recurrent actor-critic: a GRU in front of each MLP, for partially observed dynamics.

Shape: actor  obs_n → GRU(rnn_hidden) → MLP(hidden) → μ (and log σ)
       critic concat(obs_n, priv_n) → GRU(rnn_hidden) → MLP(critic_hidden) → V
The critic has its OWN GRU (not shared with the actor): the critic may see privileged
inputs the actor must never see, the exported actor then holds no critic weights, and the
value loss cannot pull the actor's memory towards what only the critic needs.

Hidden state convention (one layer, so [1, B, H] as torch.nn.GRU wants it): `h` is the
state *before* processing the current observation. An episode start resets it to zeros,
rsl_rl-style, by a mask multiply `h ← h · (1 − start_t)` before the GRU step at t; the
collection loop does the same by zeroing the rows of envs whose episode just ended.

Raw-observation methods (`actor_mean`, `action_std`, `value`) run ONE step from a zero
state; they exist so stateless callers (recorded-observation rollouts, tools) still work.
The exporter uses `step_raw(obs_raw, h)`, which carries the state.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from robot_ppo.algo.actor_critic import (
    LOG_STD_MAX,
    LOG_STD_MIN,
    Activation,
    StdMode,
    _head,
    _mlp,
    init_action_head,
    init_settings,
)
from robot_ppo.algo.distributions import gaussian_entropy, gaussian_log_prob
from robot_ppo.algo.model_inputs import NormalizedInputs


def unroll(rnn: nn.GRU, x: torch.Tensor, h0: torch.Tensor, starts: torch.Tensor
           ) -> torch.Tensor:
    """Run `rnn` over x [L, B, F] from h0 [1, B, H], zeroing h of row b before step t
    where starts[t, b] = 1. Returns the outputs [L, B, H].

    The sequence is cut only at the time steps where *some* row starts an episode; between
    cuts one cuDNN/MKL GRU call covers the whole segment.
    """
    cuts = [0] + [int(t) for t in torch.nonzero(starts[1:].any(dim=1)).flatten() + 1]
    cuts.append(x.shape[0])
    outs = []
    h = h0
    for a, b in itertools.pairwise(cuts):
        if b <= a:
            continue
        h = h * (1.0 - starts[a]).view(1, -1, 1)
        out, h = rnn(x[a:b], h)
        outs.append(out)
    return torch.cat(outs, dim=0)


class RecurrentActorCritic(NormalizedInputs, nn.Module):
    """GRU actor and GRU critic (separate), diagonal Gaussian policy; see module doc."""

    is_recurrent = True

    def __init__(self, obs_dim: int, act_dim: int, rnn_hidden: int = 64,
                 hidden: Sequence[int] = (64,), activation: Activation = "tanh",
                 std_mode: StdMode = "state_independent", init_std: float = 1.0,
                 critic_obs_dim: int | None = None, critic_hidden: Sequence[int] | None = None,
                 normalize_obs: bool = True, obs_clip: float = 10.0,
                 rnn_type: str = "gru") -> None:
        super().__init__()
        if rnn_type != "gru":
            raise ValueError(f"rnn_type must be 'gru', got {rnn_type!r}")
        if rnn_hidden <= 0:
            raise ValueError("rnn_hidden must be positive")
        init_settings(self, obs_dim, act_dim, hidden, critic_hidden, activation, std_mode,
                      init_std, critic_obs_dim, normalize_obs, obs_clip)
        self.rnn_hidden = int(rnn_hidden)
        self.rnn_type = rnn_type
        hsz = self.rnn_hidden
        self.actor_rnn = nn.GRU(self.obs_dim, hsz)
        self.actor_body, last = _mlp(hsz, self.hidden, activation)
        init_action_head(self, last, self.act_dim, std_mode, self.init_std)
        self.critic_rnn = nn.GRU(self.obs_dim + (self.critic_obs_dim or 0), hsz)
        self.critic_body, last_c = _mlp(hsz, self.critic_hidden, activation)
        self.value_head = _head(last_c, 1, 1.0)

    # ---- plain-dict construction ----------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return {
            "obs_dim": self.obs_dim, "act_dim": self.act_dim, "rnn_hidden": self.rnn_hidden,
            "rnn_type": self.rnn_type, "hidden": list(self.hidden),
            "activation": self.activation, "std_mode": self.std_mode,
            "init_std": self.init_std, "critic_obs_dim": self.critic_obs_dim,
            "critic_hidden": list(self.critic_hidden), "normalize_obs": self.normalize_obs,
            "obs_clip": self.obs_clip,
        }

    # ---- state ------------------------------------------------------------------------
    def zero_state(self, batch: int) -> torch.Tensor:
        """Initial hidden state [1, batch, rnn_hidden] (actor and critic alike)."""
        return torch.zeros(1, batch, self.rnn_hidden)

    @staticmethod
    def critic_input(obs_n: torch.Tensor, priv_n: torch.Tensor | None) -> torch.Tensor:
        return obs_n if priv_n is None else torch.cat((obs_n, priv_n), dim=-1)

    # ---- heads on GRU outputs (any leading shape) -------------------------------------
    def heads(self, h_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """GRU output [..., H] → action mean [..., A] and log σ ([A] or [..., A])."""
        z = self.actor_body(h_out)
        mean = self.mu(z)
        if self.log_std_head is None:
            return mean, self.log_std
        return mean, self.log_std_head(z).clamp(LOG_STD_MIN, LOG_STD_MAX)

    def value_from(self, h_out: torch.Tensor) -> torch.Tensor:
        return self.value_head(self.critic_body(h_out)).squeeze(-1)

    # ---- one step (collection, export) --------------------------------------------------
    def actor_step(self, obs_n: torch.Tensor, h: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalized obs [B, O], state [1, B, H] → (mean, log σ, next state)."""
        out, h_next = self.actor_rnn(obs_n.unsqueeze(0), h)
        mean, log_std = self.heads(out[0])
        return mean, log_std, h_next

    def critic_step(self, x_n: torch.Tensor, h: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalized critic input [B, O(+P)], state [1, B, H] → (V [B], next state)."""
        out, h_next = self.critic_rnn(x_n.unsqueeze(0), h)
        return self.value_from(out[0]), h_next

    def step_raw(self, obs_raw: torch.Tensor, h: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """RAW obs [B, O] and state → (mean, σ, next state): what the exported graph runs."""
        mean, log_std, h_next = self.actor_step(self.norm_obs(obs_raw), h)
        return mean, torch.exp(log_std).expand_as(mean), h_next

    # ---- sequences (the update) ---------------------------------------------------------
    def evaluate_sequence(self, obs_n: torch.Tensor, priv_n: torch.Tensor | None,
                          actions: torch.Tensor, h_actor: torch.Tensor,
                          h_critic: torch.Tensor, starts: torch.Tensor
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log π [L, B], entropy, V [L, B] over sequences obs_n [L, B, O] that begin in the
        stored states h_* [1, B, H]; starts [L, B] marks episode starts (state reset)."""
        out_a = unroll(self.actor_rnn, obs_n, h_actor, starts)
        mean, log_std = self.heads(out_a)
        logp = gaussian_log_prob(actions, mean, log_std)
        entropy = gaussian_entropy(log_std, self.act_dim)
        out_c = unroll(self.critic_rnn, self.critic_input(obs_n, priv_n), h_critic, starts)
        return logp, entropy, self.value_from(out_c)

    # ---- stateless RAW-observation API (one step from zeros; see module doc) ------------
    def actor_mean(self, obs_raw: torch.Tensor) -> torch.Tensor:
        mean, _, _ = self.step_raw(obs_raw, self.zero_state(obs_raw.shape[0]))
        return mean

    forward_actor = actor_mean

    def action_std(self, obs_raw: torch.Tensor) -> torch.Tensor:
        _, std, _ = self.step_raw(obs_raw, self.zero_state(obs_raw.shape[0]))
        return std

    def value(self, obs_raw: torch.Tensor,
              privileged_raw: torch.Tensor | None = None) -> torch.Tensor:
        x = self.critic_input(self.norm_obs(obs_raw), self.norm_privileged(privileged_raw))
        v, _ = self.critic_step(x, self.zero_state(obs_raw.shape[0]))
        return v

    def forward(self, obs_raw: torch.Tensor) -> torch.Tensor:
        return self.actor_mean(obs_raw)


def is_recurrent(model: object) -> bool:
    return bool(getattr(model, "is_recurrent", False))
