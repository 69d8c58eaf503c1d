"""Evaluating a CMA-ES generation: in this process, or spread over worker processes.

Each worker holds its own `Replayer` (its own PyBullet client), built once from the
pickled spec and windows; a candidate's error does not depend on which process replays it
(every window starts from a reset state), so `--workers` changes the time, not the file.
Workers are spawned, not forked: a forked PyBullet client would share the parent's.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from robot_ppo.identify.replay import Replayer
from robot_ppo.identify.segments import ReplaySet
from robot_ppo.spec import RobotSpec

BatchErrors = Callable[[np.ndarray], list[np.ndarray]]
"""(P, d) candidates -> P arrays (W,) of squared error per window."""

_replayer: Replayer | None = None  # the worker process's own


def _init(spec: RobotSpec, data: ReplaySet, max_latency_s: float) -> None:
    global _replayer
    _replayer = Replayer(spec, data, max_latency_s)


def _errors(job: tuple[list[str], np.ndarray]) -> np.ndarray:
    names, x = job
    assert _replayer is not None
    return _replayer.window_errors(dict(zip(names, x.tolist())))


@contextlib.contextmanager
def batch_evaluator(replayer: Replayer, names: list[str], workers: int,
                    max_latency_s: float) -> Iterator[BatchErrors]:
    """A BatchErrors over `workers` processes (1: `replayer` here; 0: one per CPU)."""
    n = workers or os.cpu_count() or 1
    if n <= 1:
        yield lambda xs: [replayer.window_errors(dict(zip(names, x.tolist()))) for x in xs]
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(n, initializer=_init,
                  initargs=(replayer.spec, replayer.data, max_latency_s)) as pool:
        def run(xs: np.ndarray) -> list[Any]:
            return pool.map(_errors, [(names, x) for x in xs], chunksize=1)
        yield run
