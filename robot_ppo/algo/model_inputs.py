"""What every actor-critic shares about its inputs: raw-observation normalization kept inside
the model (so it is saved with the weights and exported with the actor), and construction
from the plain dict stored in checkpoints."""

from __future__ import annotations

from typing import Any, TypeVar

import torch
from torch import nn

from robot_ppo.algo.normalizer import RunningMeanStd

M = TypeVar("M", bound="NormalizedInputs")


class NormalizedInputs:
    """Mixin for nn.Module actor-critics with `obs_normalizer`, an optional
    `critic_normalizer` (privileged critic inputs) and a `normalize_obs` switch."""

    # settings and layers every actor-critic has (set by policy.init_settings and
    # policy.init_action_head), declared here so type checkers know them
    obs_dim: int
    act_dim: int
    hidden: tuple[int, ...]
    critic_hidden: tuple[int, ...]
    activation: str
    std_mode: str
    init_std: float
    critic_obs_dim: int | None
    obs_clip: float
    obs_normalizer: RunningMeanStd
    critic_normalizer: RunningMeanStd | None
    normalize_obs: bool
    mu: nn.Linear
    log_std: nn.Parameter  # None (registered as such) for a state-dependent std
    log_std_head: nn.Linear | None

    @classmethod
    def from_config(cls: type[M], config: dict[str, Any]) -> M:
        """Rebuild from `config_dict()` (lists in the checkpoint become tuples again)."""
        kwargs = dict(config)
        for key in ("hidden", "critic_hidden"):
            if kwargs.get(key) is not None:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)

    def norm_obs(self, obs_raw: torch.Tensor) -> torch.Tensor:
        return self.obs_normalizer(obs_raw) if self.normalize_obs else obs_raw

    def norm_privileged(self, privileged_raw: torch.Tensor | None) -> torch.Tensor | None:
        if self.critic_normalizer is None or privileged_raw is None:
            return None
        return self.critic_normalizer(privileged_raw) if self.normalize_obs else privileged_raw

    def update_normalizers(self, obs_raw: torch.Tensor,
                           privileged_raw: torch.Tensor | None = None) -> None:
        """Called by the collection loop only (never during the update)."""
        if not self.normalize_obs:
            return
        self.obs_normalizer.update(obs_raw)
        if self.critic_normalizer is not None and privileged_raw is not None:
            self.critic_normalizer.update(privileged_raw)
