"""Fine-tuning on rollouts recorded on the robot: PPO with a KL leash to the reference policy.

Nothing here imports the simulator or the runtime: rewards come in as a callable that
scores a logged episode (the command layer builds it from the task's reward function),
and simulated rollouts, when mixed in, come from a gymnasium env factory.

Importing this package imports no torch (its names load on first use, PEP 562), so that
`robot_ppo.finetune.config`, and with it `robot-ppo finetune --help`, works in the
robot-only install.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robot_ppo.finetune.config import FinetuneConfig
    from robot_ppo.finetune.finetuner import FinetuneParams, Finetuner
    from robot_ppo.finetune.kl import gaussian_kl
    from robot_ppo.finetune.segments import ScoreFn, Segment, segments_from_rollouts

_WHERE = {"FinetuneConfig": "config", "FinetuneParams": "finetuner", "Finetuner": "finetuner",
          "gaussian_kl": "kl", "ScoreFn": "segments", "Segment": "segments",
          "segments_from_rollouts": "segments"}

__all__ = ["FinetuneConfig", "FinetuneParams", "Finetuner", "ScoreFn", "Segment",
           "gaussian_kl", "segments_from_rollouts"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
