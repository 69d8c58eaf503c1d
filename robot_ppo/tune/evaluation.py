"""One deterministic, seeded evaluation of a trial's checkpoint.

Robots go through `robot-ppo eval`'s own `evaluate` (the action mean, episodes seeded
seed, seed+1, ..., on a dynamics set). `eval` refuses gymnasium checkpoints, so `--env` runs
get the same protocol here: the action mean, clipped to the env's bounds, seeded episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robot_ppo.errors import UserError


@dataclass(frozen=True)
class EvalPlan:
    episodes: int
    dynamics: str
    seed: int
    every: int
    """Env steps between evaluations (the last iteration is always evaluated)."""
    metric: str = "mean_return"
    """The key of `robot-ppo eval`'s result that scores the trial."""


def evaluate_checkpoint(checkpoint: Path, plan: EvalPlan, env_id: str | None) -> float:
    """`plan.metric` over `plan.episodes` episodes of the checkpoint's deterministic policy."""
    if env_id is None:
        from robot_ppo.commands.eval import EvalConfig, evaluate
        result = evaluate(EvalConfig(checkpoint=checkpoint, episodes=plan.episodes,
                                     dynamics=plan.dynamics, seed=plan.seed))
        if plan.metric not in result:
            raise UserError(f"--metric {plan.metric}: this task's evaluation does not report "
                            f"it; use mean_return")
        return float(result[plan.metric])
    return _gym_mean_return(checkpoint, plan, env_id)


def _gym_mean_return(checkpoint: Path, plan: EvalPlan, env_id: str) -> float:
    import gymnasium as gym
    import torch

    from robot_ppo.algo.recurrent import is_recurrent
    from robot_ppo.train.checkpoint import build_model, load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    model: Any = build_model(ckpt)
    low = np.array(ckpt["action_low"], dtype=np.float32)
    high = np.array(ckpt["action_high"], dtype=np.float32)
    env = gym.make(env_id, **(ckpt.get("env_kwargs") or {}))
    returns = []
    try:
        for ep in range(plan.episodes):
            obs, _ = env.reset(seed=plan.seed + ep)
            state = model.zero_state(1) if is_recurrent(model) else None
            total, done = 0.0, False
            while not done:
                with torch.no_grad():
                    obs_t = torch.as_tensor(np.asarray(obs), dtype=torch.float32)[None]
                    if state is not None:
                        mean, _, state = model.step_raw(obs_t, state)
                    else:
                        mean = model.actor_mean(obs_t)
                obs, r, term, trunc, _ = env.step(np.clip(mean[0].numpy(), low, high))
                total += float(r)
                done = bool(term or trunc)
            returns.append(total)
    finally:
        env.close()
    return float(np.mean(returns))
