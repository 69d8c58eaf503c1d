"""Segments: contiguous stretches of experience with rewards, ready for GAE.

A logged episode becomes one segment: its rewards are recomputed from the logged states
by the task's own reward function (a `ScoreFn`, supplied by the caller), and its end
decides the bootstrap:
  - the task says a state is terminal (e.g. pole fallen): cut there, value after it is 0;
  - the log says safety tripped: terminal, value after the last step is 0;
  - operator stop / log ended / lost chunk: truncated; the last logged observation is the
    bootstrap state s_L and is not trained on itself (its successor was never logged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robot_ppo.rollout_format import Episode, RolloutData

ScoreFn = Callable[[Episode], tuple[np.ndarray, np.ndarray]]
"""episode -> (reward[L], terminated[L]): r_t is the reward for the action at step t
(the scorer may look at the next row's state), terminated_t says s_{t+1} is terminal."""


@dataclass
class Segment:
    obs: np.ndarray
    """Raw observations [L, obs_dim] (float32), as the policy saw them."""
    actions: np.ndarray
    """Actions in the policy's space [L, act_dim] (what was executed, sampled if exploring)."""
    behaviour_logp: np.ndarray
    """log μ(a_t|s_t) under the behaviour policy [L]; NaN where it was not exploring."""
    rewards: np.ndarray
    """[L], unscaled."""
    terminal: bool
    """True: the value after the last step is 0."""
    bootstrap_obs: np.ndarray | None
    """Raw observation after the last step (for V(s_L)) when not terminal."""
    source: str = "robot"

    def __len__(self) -> int:
        return int(self.obs.shape[0])


def segments_from_rollouts(data: RolloutData, score: ScoreFn) -> list[Segment]:
    """One segment per logged episode (see the module doc for how ends are handled)."""
    out = []
    for ep in data.episodes:
        rewards, terminated = score(ep)
        rewards = np.asarray(rewards, dtype=np.float64)
        terminated = np.asarray(terminated, dtype=bool)
        if rewards.shape != (len(ep),) or terminated.shape != (len(ep),):
            raise ValueError(f"reward function returned shapes {rewards.shape}, "
                             f"{terminated.shape} for an episode of {len(ep)} steps")
        hits = np.flatnonzero(terminated)
        if hits.size:
            n, terminal, boot = int(hits[0]) + 1, True, None
        elif ep.terminal:
            n, terminal, boot = len(ep), True, None
        else:
            n, terminal, boot = len(ep) - 1, False, ep["obs"][-1].astype(np.float32)
        if n <= 0:
            continue
        out.append(Segment(obs=ep["obs"][:n].astype(np.float32),
                           actions=ep["action"][:n].astype(np.float32),
                           behaviour_logp=ep["logp"][:n].astype(np.float32),
                           rewards=rewards[:n], terminal=terminal, bootstrap_obs=boot))
    return out


def episode_returns(segments: list[Segment]) -> np.ndarray:
    """Undiscounted return of each segment."""
    return np.array([float(s.rewards.sum()) for s in segments])
