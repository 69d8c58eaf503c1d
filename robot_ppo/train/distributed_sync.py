"""What the trainer shares between ranks once per run and once per iteration (torchrun).

  start()            rank 0's weights, normalizer statistics, optimizer state and reward
                     scale on every rank (also after --resume, whatever the world size the
                     checkpoint was trained with: everything in it is global)
  begin_iteration()  remember the normalizers' statistics before this rollout
  end_rollout()      merge what every rank added to them (Chan et al.), the reward scale
                     alike; gather every rank's finished episodes; merge every rank's
                     env-state reports

Env state (train/env_state.py; in practice ADR, sim/env.py): merged, as if one env state saw
every rank's episodes. All ranks start from rank 0's state (`start`). Each iteration every
rank sends the episode results its in-process env state received (`take_reports`); every
rank then resets its state to the one agreed at the last exchange and replays all ranks'
results in rank order (`merge_reports`). The replay is deterministic, so all ranks hold the
same state (for ADR: ranges, boundary queues and curriculum level), fed by all ranks'
episodes. With --workers >= 2 the envs stepped in each worker process keep a state of their
own, as they do in one process; only the trainer process's one takes part.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from robot_ppo.algo.models import AnyActorCritic
from robot_ppo.algo.normalizer import RunningMeanStd
from robot_ppo.errors import UserError
from robot_ppo.train.distributed import Distributed, MomentSnapshot, merge_moments, snapshot
from robot_ppo.train.env_state import state_env

if TYPE_CHECKING:
    from robot_ppo.algo.ppo import PPO
    from robot_ppo.train.vec_env import VecEnv


class IterationSync:
    """The per-run and per-iteration exchanges of one rank (see the module docstring)."""

    def __init__(self, dist: Distributed, ppo: PPO, model: AnyActorCritic) -> None:
        self.dist = dist
        self.ppo = ppo
        self.normalizers = [m for m in model.modules() if isinstance(m, RunningMeanStd)]
        self._bases: list[MomentSnapshot] = []
        self._scale_base: MomentSnapshot | None = None
        self._state_env: Any = None
        """The env whose training state takes part in the merge; None: no env state."""
        self._state_base: dict[str, Any] | None = None
        self.reports_merged: list[int] = []
        """Per rank: the env-state episode results merged so far (entries of its reports'
        lists)."""
        ppo.sync = dist

    def start(self, venv: VecEnv | None = None) -> None:
        ppo, d = self.ppo, self.dist
        opt = ppo.optimizer
        # the parameters are views of opt.flat; the normalizers are model buffers
        d.broadcast_([opt.flat, opt.exp_avg, opt.exp_avg_sq, *ppo.model.buffers()])
        scaler = ppo.reward_scaler
        lr, steps, scale = d.broadcast_object(
            (ppo.learning_rate, opt.step_count,
             None if scaler is None else scaler.state_dict()))
        ppo._set_lr(float(lr))
        opt.step_count = int(steps)
        if scaler is not None and scale is not None:
            scaler.load_state_dict(scale)
        self.start_env_state(venv)

    def begin_iteration(self) -> None:
        self._bases = [snapshot(n.mean.numpy(), n.var.numpy(), float(n.count))
                       for n in self.normalizers]
        s = self.ppo.reward_scaler
        self._scale_base = None if s is None else snapshot(
            np.array([s.mean]), np.array([s.var]), s.count)

    def end_rollout(self, returns: list[float], lengths: list[int],
                    metrics: list[dict[str, float]], venv: VecEnv | None
                    ) -> tuple[list[float], list[int], list[dict[str, float]]]:
        d = self.dist
        for base, n in zip(self._bases, self.normalizers):
            count, mean, var = merge_moments(d, base, n.mean.numpy(), n.var.numpy(),
                                             float(n.count))
            with torch.no_grad():  # in place: the collection policy holds numpy views
                n.mean.copy_(torch.from_numpy(mean))
                n.var.copy_(torch.from_numpy(var))
                n.count.fill_(count)
        s = self.ppo.reward_scaler
        if s is not None and self._scale_base is not None:
            count, mean, var = merge_moments(d, self._scale_base, np.array([s.mean]),
                                             np.array([s.var]), s.count)
            s.load_state_dict({"mean": float(mean[0]), "var": float(var[0]),
                               "count": count})
        gathered = d.gather_objects((returns, lengths, metrics))
        self._merge_env_state()
        return ([r for g in gathered for r in g[0]], [n for g in gathered for n in g[1]],
                [m for g in gathered for m in g[2]])

    def start_env_state(self, venv: VecEnv | None) -> None:
        """Rank 0's env state on every rank, and every rank's reports kept from now on;
        nothing when the envs keep no state. The env that takes part is the trainer
        process's first one."""
        env = None if venv is None else state_env(venv)
        if env is None or env.get_train_state() is None:
            return
        state = self.dist.broadcast_object(env.get_train_state() if self.dist.is_main else None)
        env.set_train_state(state)
        env.take_reports()  # starts keeping them
        self._state_env, self._state_base = env, state

    def _merge_env_state(self) -> None:
        env, base = self._state_env, self._state_base
        if env is None or base is None:
            return
        reports = self.dist.gather_objects(env.take_reports())
        env.merge_reports(base, reports)
        self._state_base = env.get_train_state()
        self.reports_merged = [n + sum(len(v) for v in r.values()) for n, r in
                               zip(self.reports_merged or [0] * len(reports), reports)]


def is_collective_failure(exc: RuntimeError) -> bool:
    """A failed collective: torch's DistError, or gloo's/NCCL's plain RuntimeError about a
    closed connection or a timeout (not a bug of ours that happens to be a RuntimeError)."""
    text = str(exc).lower()
    return isinstance(exc, torch.distributed.DistError) or any(
        w in text for w in ("gloo", "nccl", "connection", "timed out", "timeout", "peer"))


def lost_rank_error(exc: RuntimeError, dist: Distributed, checkpoint: Path | None
                    ) -> UserError:
    """The one-line error of a rank whose collective failed: a peer died or timed out."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    good = (f"the last checkpoint is {str(checkpoint)!r}" if checkpoint is not None
            else "no checkpoint was written")
    return UserError(f"rank {dist.rank} of {dist.world_size}: lost contact with the other "
                     f"ranks ({first}); another rank failed or the network dropped. Training "
                     f"stopped; {good}; continue with --resume.")

