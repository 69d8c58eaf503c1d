"""Fine-tuning on rollouts recorded on the robot: PPO with a KL leash to the reference policy.

Nothing here imports the simulator or the runtime: rewards come in as a callable that
scores a logged episode (the command layer builds it from the task's reward function),
and simulated rollouts, when mixed in, come from a gymnasium env factory.
"""

from robot_ppo.finetune.config import FinetuneConfig
from robot_ppo.finetune.finetuner import FinetuneParams, Finetuner
from robot_ppo.finetune.kl import gaussian_kl
from robot_ppo.finetune.segments import ScoreFn, Segment, segments_from_rollouts

__all__ = ["FinetuneConfig", "FinetuneParams", "Finetuner", "ScoreFn", "Segment",
           "gaussian_kl", "segments_from_rollouts"]
