"""Training over several processes and machines with `torch.distributed` (torchrun).

`torchrun --standalone --nproc_per_node=N -m robot_ppo train ...` starts N copies of
`robot-ppo train`; each finds WORLD_SIZE, RANK and LOCAL_RANK in its environment
(`Distributed.from_env`). Without them (a plain `robot-ppo train`) nothing here runs a
collective and training is bit-identical to what it was before this file existed.

What the ranks share (docs/distributed.md):
  * rank 0's initial weights, normalizer statistics and optimizer state (`broadcast_state`);
  * the gradient of every minibatch, summed and divided by the world size, so one step is
    the step of one process holding every rank's minibatch (`average_`);
  * the minibatch's approximate KL and loss (averaged, before the early-stop test and the
    adaptive learning-rate rule, so every rank takes the same branch);
  * batch advantage normalization over the whole global batch (`global_mean_std`);
  * the observation normalizers, merged every iteration with the parallel (Chan et al.)
    formula so they hold the statistics of every rank's observations (`merge_normalizer`);
  * episode returns, lengths and metrics of the iteration (`gather_objects`), so rank 0's
    logged mean return covers every rank's episodes.

Backend: NCCL when CUDA is available (tensors are copied to `cuda:LOCAL_RANK` for each
collective: the trainer itself runs on the CPU), gloo otherwise. Only the gloo path is
tested here. A rank that dies makes the others' next collective fail (gloo: connection
closed) or time out after `ROBOT_PPO_DIST_TIMEOUT_S` seconds (default 300); the trainer
turns either into a one-line error and a non-zero exit.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

TIMEOUT_ENV = "ROBOT_PPO_DIST_TIMEOUT_S"


@dataclass
class Distributed:
    """This process's place among the ranks; world_size 1 means no process group."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    backend: str = ""

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @staticmethod
    def from_env() -> Distributed:
        """Join the process group torchrun describes in the environment (world size 1 and
        no group without WORLD_SIZE, or with WORLD_SIZE=1)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return Distributed()
        rank = int(os.environ["RANK"])
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":  # untested here: no GPU machine was lent
            torch.cuda.set_device(local_rank)
        if not dist.is_initialized():
            timeout = datetime.timedelta(seconds=float(os.environ.get(TIMEOUT_ENV, "300")))
            dist.init_process_group(backend=backend, timeout=timeout)
        return Distributed(world, rank, local_rank, backend)

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()

    # ---- collectives (no-ops for one process) ---------------------------------------------
    def _device(self) -> torch.device:
        return torch.device(f"cuda:{self.local_rank}") if self.backend == "nccl" \
            else torch.device("cpu")

    def _all_reduce_(self, t: torch.Tensor) -> None:
        dev = self._device()
        if dev.type == "cpu":
            dist.all_reduce(t)
        else:
            tmp = t.to(dev)
            dist.all_reduce(tmp)
            t.copy_(tmp.cpu())

    def _broadcast_(self, t: torch.Tensor) -> None:
        dev = self._device()
        if dev.type == "cpu":
            dist.broadcast(t, src=0)
        else:
            tmp = t.to(dev)
            dist.broadcast(tmp, src=0)
            t.copy_(tmp.cpu())

    def average_(self, t: torch.Tensor) -> None:
        """In place: the mean of `t` over the ranks."""
        if self.active:
            self._all_reduce_(t)
            t.div_(self.world_size)

    def mean_floats(self, values: Sequence[float]) -> list[float]:
        """The per-position mean over the ranks (a NaN on any rank gives NaN everywhere)."""
        if not self.active:
            return list(values)
        t = torch.tensor(list(values), dtype=torch.float64)
        self.average_(t)
        return t.tolist()

    def global_mean_std(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and unbiased std of the concatenation of every rank's 1-D `x` (what one
        process holding all of it would compute with `x.mean()`, `x.std()`)."""
        if not self.active:
            return x.mean(), x.std()
        xd = x.double()
        sums = torch.stack((torch.tensor(float(x.numel()), dtype=torch.float64), xd.sum()))
        self._all_reduce_(sums)
        n, mean = sums[0], sums[1] / sums[0]
        sq = ((xd - mean) ** 2).sum().reshape(1)
        self._all_reduce_(sq)
        std = torch.sqrt(sq[0] / (n - 1))
        return mean.to(x.dtype), std.to(x.dtype)

    def broadcast_(self, tensors: Sequence[torch.Tensor]) -> None:
        """In place: every tensor takes rank 0's value."""
        if self.active:
            for t in tensors:
                self._broadcast_(t)

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's `obj` (picklable) on every rank."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_objects(self, obj: Any) -> list[Any]:
        """Every rank's `obj`, in rank order, on every rank."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out


@dataclass
class MomentSnapshot:
    """Count, mean and variance of a normalizer at the start of an iteration."""

    count: float
    mean: np.ndarray
    var: np.ndarray


def snapshot(mean: np.ndarray, var: np.ndarray, count: float) -> MomentSnapshot:
    return MomentSnapshot(float(count), np.array(mean, dtype=np.float64),
                          np.array(var, dtype=np.float64))


def chan_merge(parts: Sequence[tuple[float, np.ndarray, np.ndarray]]
               ) -> tuple[float, np.ndarray, np.ndarray]:
    """Count, mean and population variance of the union of disjoint sample sets, each
    given as (count, mean, population variance): the parallel algorithm of Chan et al.,
    M2 = Σ (M2_i + n_i (m_i − m)²) with m the count-weighted mean."""
    n = sum(p[0] for p in parts)
    if n == 0:
        return 0.0, parts[0][1].copy(), parts[0][2].copy()
    mean = sum(p[0] * p[1] for p in parts) / n
    m2 = sum(p[0] * p[2] + p[0] * (p[1] - mean) ** 2 for p in parts)
    return float(n), np.asarray(mean, dtype=np.float64), np.asarray(m2 / n, dtype=np.float64)


def increment(base: MomentSnapshot, mean: np.ndarray, var: np.ndarray, count: float
              ) -> tuple[float, np.ndarray, np.ndarray]:
    """The (count, mean, variance) of the samples merged into a normalizer since `base`:
    Chan's merge solved for the batch."""
    n = float(count)
    n_b = n - base.count
    if n_b <= 0:
        return 0.0, np.zeros_like(base.mean), np.zeros_like(base.var)
    m = np.asarray(mean, dtype=np.float64)
    v = np.asarray(var, dtype=np.float64)
    m_b = (m * n - base.mean * base.count) / n_b
    delta = m_b - base.mean
    m2_b = v * n - base.var * base.count - delta * delta * (base.count * n_b / n)
    return n_b, m_b, np.maximum(m2_b, 0.0) / n_b


def merge_moments(d: Distributed, base: MomentSnapshot, mean: np.ndarray, var: np.ndarray,
                  count: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Statistics of `base`'s samples plus every rank's samples since `base` (all ranks
    start the iteration from the same `base`)."""
    n_b, m_b, v_b = increment(base, mean, var, count)
    parts = d.gather_objects((n_b, m_b, v_b))
    return chan_merge([(base.count, base.mean, base.var), *parts])
