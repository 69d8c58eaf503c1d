"""An upper bound on the policy's std that falls during training (`--std-final`).

The exported policy runs its mean action. A policy trained with a large std can learn a
behaviour that works only with the noise (a quadruped whose sampled actions walk while its
mean action stands: docs/robustness.md). Bounding the std more and more tightly makes the
last part of training run close to what is exported.

The bound at env step s of a run of S steps, reached at `until` = std_final_at · S:

    cap(s) = init_std · (std_final / init_std) ** min(s / until, 1)

(geometric, so each step lowers log σ by the same amount). After each update (and once
before the first rollout) every log σ above log cap(s) is set to log cap(s): a projection
of the learned log-std parameter (projected gradient descent), so every rollout, the PPO
ratio of the update after it, every checkpoint and every path that reads the parameter
(torch, the numpy rollout policy, the manual-gradient update) see σ <= cap(s). A σ
already below the bound is left alone. Only a state-independent std can be bounded this
way; a state-dependent std is a network output (refused by the CLI).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from robot_ppo.algo.models import AnyActorCritic


@dataclass(frozen=True)
class StdCap:
    """The bound's schedule: from `init_std` at step 0 to `final_std` at `until_steps`."""

    init_std: float
    final_std: float
    until_steps: int

    def __post_init__(self) -> None:
        if self.init_std <= 0 or self.final_std <= 0:
            raise ValueError("std bounds must be > 0")
        if self.until_steps < 1:
            raise ValueError("until_steps must be >= 1")

    def at(self, env_steps: int) -> float:
        """The bound on σ at `env_steps`."""
        frac = min(max(env_steps, 0) / self.until_steps, 1.0)
        return self.init_std * (self.final_std / self.init_std) ** frac

    def apply(self, model: AnyActorCritic, env_steps: int) -> float:
        """Clamp the model's log-std parameter in place to log(bound); returns the bound."""
        if model.log_std is None:
            raise ValueError("a std bound needs a state-independent std (std_mode "
                             "state_independent)")
        cap = self.at(env_steps)
        with torch.no_grad():
            # in place: numpy views of the parameter (rollout policy, manual gradients) follow
            model.log_std.clamp_(max=math.log(cap))
        return cap
