"""The PPO algorithm: actor-critic model, observation normalizer, rollout storage, update.

Nothing here knows about environments, files or loggers: the trainer
(`robot_ppo.train.trainer`) owns the loop and calls the verbs of `PPO` in order
(act, process_step, compute_returns, update).
"""

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.normalizer import RunningMeanStd
from robot_ppo.algo.ppo import PPO, PPOParams
from robot_ppo.algo.storage import RolloutStorage

__all__ = ["PPO", "ActorCritic", "PPOParams", "RolloutStorage", "RunningMeanStd"]
