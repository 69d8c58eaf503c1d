"""Actor-critic: Gaussian policy and value function, with the observation normalizer inside.

Contract for the exporter and for fine-tuning (keep stable):
- `ActorCritic.from_config(d)` / `.config_dict()`: the model is rebuilt from a plain
  kwargs dict stored in the checkpoint (`model_config`).
- `actor_mean(obs_raw)` (alias `forward_actor`): RAW observation [B, obs_dim] → action
  mean [B, act_dim] in the policy's own action space, normalizer included.
- `action_std(obs_raw)`: → standard deviation [B, act_dim] of the Gaussian policy.
- `value(obs_raw, privileged_raw=None)`: → V(s) [B].
- Submodules `obs_normalizer` (and `critic_normalizer` with a privileged critic) hold
  buffers mean/var/count; the exporter reads `.clip` and `.epsilon` from them.

Asymmetric actor-critic: with `critic_obs_dim=K`, the env supplies a privileged vector of
K numbers per step (`info["privileged"]`); the critic sees concat(obs, privileged) and the
actor never sees the privileged part, so the exported actor needs only robot sensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn

from robot_ppo.algo.distributions import gaussian_entropy, gaussian_log_prob
from robot_ppo.algo.model_inputs import NormalizedInputs
from robot_ppo.algo.normalizer import RunningMeanStd

Activation = Literal["tanh", "elu", "relu"]
StdMode = Literal["state_independent", "state_dependent"]
_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "elu": nn.ELU, "relu": nn.ReLU}
# Bounds on log σ for the state-dependent head: keeps exp() finite and exploration alive.
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


def _mlp(in_dim: int, hidden: Sequence[int], activation: str) -> tuple[nn.Sequential, int]:
    """Hidden layers only, orthogonally initialized with gain √2 (the usual PPO recipe)."""
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden:
        lin = nn.Linear(last, width)
        nn.init.orthogonal_(lin.weight, math.sqrt(2.0))
        nn.init.zeros_(lin.bias)
        layers += [lin, _ACTIVATIONS[activation]()]
        last = width
    return nn.Sequential(*layers), last


def _head(in_dim: int, out_dim: int, gain: float, bias: float = 0.0) -> nn.Linear:
    lin = nn.Linear(in_dim, out_dim)
    nn.init.orthogonal_(lin.weight, gain)
    nn.init.constant_(lin.bias, bias)
    return lin


def init_settings(model: NormalizedInputs, obs_dim: int, act_dim: int, hidden: Sequence[int],
                  critic_hidden: Sequence[int] | None, activation: str, std_mode: str,
                  init_std: float, critic_obs_dim: int | None, normalize_obs: bool,
                  obs_clip: float) -> None:
    """Validate and store the settings every actor-critic shares, and build its observation
    normalizers (critic's only with privileged inputs)."""
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {list(_ACTIVATIONS)}, got {activation!r}")
    if std_mode not in ("state_independent", "state_dependent"):
        raise ValueError(f"unknown std_mode {std_mode!r}")
    if init_std <= 0:
        raise ValueError("init_std must be positive")
    model.obs_dim, model.act_dim = int(obs_dim), int(act_dim)
    model.hidden = tuple(int(h) for h in hidden)
    model.critic_hidden = tuple(int(h) for h in (critic_hidden or hidden))
    model.activation = activation
    model.std_mode = std_mode
    model.init_std = float(init_std)
    model.critic_obs_dim = None if critic_obs_dim is None else int(critic_obs_dim)
    model.normalize_obs = bool(normalize_obs)
    model.obs_clip = float(obs_clip)
    model.obs_normalizer = RunningMeanStd(int(obs_dim), clip=obs_clip)
    model.critic_normalizer = (RunningMeanStd(int(critic_obs_dim), clip=obs_clip)
                               if critic_obs_dim else None)


def init_action_head(model: NormalizedInputs, last: int, act_dim: int, std_mode: str,
                     init_std: float) -> None:
    """Action-mean head (gain 0.01: the initial policy is nearly state-independent) and log σ:
    one learned value per action, or a head on the actor's last hidden layer."""
    model.mu = _head(last, act_dim, 0.01)
    log_init = math.log(init_std)
    if std_mode == "state_independent":
        model.log_std = nn.Parameter(torch.full((act_dim,), log_init))
        model.log_std_head = None
    else:
        model.register_parameter("log_std", None)  # type: ignore[attr-defined]
        model.log_std_head = _head(last, act_dim, 0.01, bias=log_init)


class ActorCritic(NormalizedInputs, nn.Module):
    """Separate actor and critic MLPs; diagonal Gaussian policy.

    Orthogonal init: gain √2 for hidden layers, 0.01 for the action-mean head (the initial
    policy is nearly state-independent, mean ≈ 0) and 1.0 for the value head.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden: Sequence[int] = (64, 64),
                 activation: Activation = "tanh", std_mode: StdMode = "state_independent",
                 init_std: float = 1.0, critic_obs_dim: int | None = None,
                 critic_hidden: Sequence[int] | None = None, normalize_obs: bool = True,
                 obs_clip: float = 10.0) -> None:
        super().__init__()
        init_settings(self, obs_dim, act_dim, hidden, critic_hidden, activation, std_mode,
                      init_std, critic_obs_dim, normalize_obs, obs_clip)
        self.actor_body, last = _mlp(self.obs_dim, self.hidden, activation)
        init_action_head(self, last, self.act_dim, std_mode, self.init_std)

        critic_in = self.obs_dim + (self.critic_obs_dim or 0)
        self.critic_body, last_c = _mlp(critic_in, self.critic_hidden, activation)
        self.value_head = _head(last_c, 1, 1.0)

    # ---- plain-dict construction (stored in checkpoints) -------------------------------
    def config_dict(self) -> dict[str, Any]:
        """The kwargs that rebuild this model: plain ints, floats, strs, lists, None."""
        return {
            "obs_dim": self.obs_dim, "act_dim": self.act_dim, "hidden": list(self.hidden),
            "activation": self.activation, "std_mode": self.std_mode,
            "init_std": self.init_std, "critic_obs_dim": self.critic_obs_dim,
            "critic_hidden": list(self.critic_hidden), "normalize_obs": self.normalize_obs,
            "obs_clip": self.obs_clip,
        }

    # ---- on normalized inputs (used in the hot loops) -----------------------------------
    def mean_log_std(self, obs_n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Action mean [B, A] and log σ ([A] when state-independent, else [B, A])."""
        h = self.actor_body(obs_n)
        mean = self.mu(h)
        if self.log_std_head is None:
            return mean, self.log_std
        return mean, self.log_std_head(h).clamp(LOG_STD_MIN, LOG_STD_MAX)

    def value_normalized(self, obs_n: torch.Tensor,
                         priv_n: torch.Tensor | None = None) -> torch.Tensor:
        x = obs_n if priv_n is None else torch.cat((obs_n, priv_n), dim=-1)
        return self.value_head(self.critic_body(x)).squeeze(-1)

    def evaluate(self, obs_n: torch.Tensor, actions: torch.Tensor,
                 priv_n: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log π(a|s) [B], entropy [B or scalar], V(s) [B] for stored (normalized) obs."""
        mean, log_std = self.mean_log_std(obs_n)
        logp = gaussian_log_prob(actions, mean, log_std)
        entropy = gaussian_entropy(log_std, self.act_dim)
        return logp, entropy, self.value_normalized(obs_n, priv_n)

    # ---- on RAW observations (the exporter wraps these) ---------------------------------
    def actor_mean(self, obs_raw: torch.Tensor) -> torch.Tensor:
        """RAW observation → action mean in the policy's space (normalizer included)."""
        mean, _ = self.mean_log_std(self.norm_obs(obs_raw))
        return mean

    forward_actor = actor_mean

    def action_std(self, obs_raw: torch.Tensor) -> torch.Tensor:
        """RAW observation → σ of the policy, shape [B, act_dim]."""
        mean, log_std = self.mean_log_std(self.norm_obs(obs_raw))
        return torch.exp(log_std).expand_as(mean)

    def value(self, obs_raw: torch.Tensor,
              privileged_raw: torch.Tensor | None = None) -> torch.Tensor:
        """RAW observation (and privileged vector) → V(s), shape [B]."""
        return self.value_normalized(self.norm_obs(obs_raw), self.norm_privileged(privileged_raw))

    def forward(self, obs_raw: torch.Tensor) -> torch.Tensor:
        return self.actor_mean(obs_raw)
