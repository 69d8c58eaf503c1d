"""The PPO algorithm: actor-critic model, observation normalizer, rollout storage, update.

Nothing here knows about environments, files or loggers: the trainer
(`robot_ppo.train.trainer`) owns the loop and calls the verbs of `PPO` in order
(act, process_step, compute_returns, update).

The names below load on first use, so that `robot_ppo.algo.ppo_params` (the update's
hyperparameters, the `ppo` section of `robot-ppo train`'s options) imports without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {"PPO": "ppo", "ActorCritic": "actor_critic", "PPOParams": "ppo_params",
          "RolloutStorage": "storage", "RunningMeanStd": "normalizer"}

__all__ = ["PPO", "ActorCritic", "PPOParams", "RolloutStorage", "RunningMeanStd"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"robot_ppo.algo.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'robot_ppo.algo' has no attribute {name!r}")
