"""Score logged episodes with the task's reward: what a policy earned on the robot.

The bench (bench/finetune_shifted.py) and `robot-ppo adapt` judge policies by this, so a
return means the same number in both: the sum of the task's rewards, recomputed from the
logged states by a `ScoreFn`, up to and including the first step the task calls terminal.
An episode stopped by the time limit or the operator counts every logged step (its last
row is scored against itself, having no logged successor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_ppo.finetune.segments import ScoreFn
from robot_ppo.rollout_format import Episode, RolloutData


@dataclass(frozen=True)
class EpisodeScore:
    """One logged episode, scored."""

    ret: float
    """Undiscounted return (see the module doc)."""
    steps: int
    """Logged control steps."""
    seconds: float
    """Robot time: last logged timestamp − first, plus one control period."""
    terminated: bool
    """The task's termination ended it (a fall), as the reward function says."""


def score_episode(ep: Episode, score: ScoreFn, control_hz: float) -> EpisodeScore:
    rewards, terminated = score(ep)
    hits = np.flatnonzero(np.asarray(terminated, dtype=bool))
    cut = int(hits[0]) + 1 if hits.size else len(ep)
    t = ep["t"]
    seconds = float(t[-1] - t[0]) + 1.0 / control_hz if len(ep) else 0.0
    return EpisodeScore(ret=float(np.sum(np.asarray(rewards, dtype=np.float64)[:cut])),
                        steps=len(ep), seconds=seconds,
                        terminated=bool(hits.size))


def score_rollouts(data: RolloutData, score: ScoreFn, control_hz: float) -> list[EpisodeScore]:
    """Every logged episode of `data`, in log order."""
    return [score_episode(ep, score, control_hz) for ep in data.episodes if len(ep)]


def logged_returns(data: RolloutData, score: ScoreFn, control_hz: float) -> list[float]:
    """The return of every logged episode of `data`."""
    return [s.ret for s in score_rollouts(data, score, control_hz)]
