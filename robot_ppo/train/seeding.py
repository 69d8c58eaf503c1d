"""One call seeds every random source the trainer uses.

Python's `random`, numpy's global RNG and torch's CPU RNG (action noise, minibatch
shuffles, weight init) get `seed`; env i is reset with `seed + i` by the vec env.
With the same seed and the same number of envs and threads, the first iteration's losses
are bit-identical (tests/robot_ppo/test_seeding.py holds this).
"""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_torch_threads(threads: int) -> None:
    """Small MLPs gain nothing from intra-op threads and lose to their sync overhead;
    one thread also leaves the other cores to env workers."""
    if threads > 0:
        torch.set_num_threads(threads)
