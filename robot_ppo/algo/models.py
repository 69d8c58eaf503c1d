"""Model construction from a checkpoint's `model_config`: feed-forward or recurrent.

A recurrent model's config carries `rnn_hidden` (and `rnn_type`); feed-forward configs
never do, so old checkpoints keep loading as `ActorCritic` unchanged.
"""

from __future__ import annotations

from typing import Any

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.recurrent import RecurrentActorCritic

AnyActorCritic = ActorCritic | RecurrentActorCritic


def model_from_config(config: dict[str, Any]) -> AnyActorCritic:
    if "rnn_hidden" in config:
        return RecurrentActorCritic.from_config(config)
    return ActorCritic.from_config(config)
