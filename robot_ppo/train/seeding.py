"""Seeding and thread counts: one call each, made by the trainer before anything runs.

Seeding: Python's `random`, numpy's global RNG and torch's CPU RNG (weight init, minibatch
shuffles, and the seed of the collection policy's numpy noise generator) get `seed`; env i
is reset with `seed + i` by the vec env. With the same seed and the same number of envs,
the first iteration's losses are bit-identical (tests/robot_ppo/test_seeding.py).

Threads: small MLPs gain nothing from intra-op threads and lose to their wake-ups, and on
a shared machine extra threads only steal cores from env workers and other users. Both
torch and numpy's OpenBLAS (used by the numpy update and collection policy) are limited.
"""

from __future__ import annotations

import ctypes
import random

import numpy as np
import torch

_BLAS_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_",
                 "openblas_set_num_threads64_", "scipy_openblas_set_num_threads")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def limit_blas_threads(threads: int) -> bool:
    """Set the thread count of every OpenBLAS loaded in this process (numpy's included).

    OpenBLAS has no Python API; like threadpoolctl, find the loaded libraries in
    /proc/self/maps and call their setter. Without this, numpy matmuls of 256×64
    matrices spin up to one thread per core and run ~10× slower on a busy 2-core machine.
    Returns True when a library was found (False on non-Linux or non-OpenBLAS builds).
    """
    try:
        with open("/proc/self/maps") as fh:
            paths = {parts[-1] for parts in (line.split() for line in fh)
                     if len(parts) >= 6 and "openblas" in parts[-1].lower()}
    except OSError:
        return False
    found = False
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                found = True
                break
    return found


def set_torch_threads(threads: int) -> None:
    """torch intra-op threads and OpenBLAS threads to `threads` (0 keeps the defaults)."""
    if threads > 0:
        torch.set_num_threads(threads)
        limit_blas_threads(threads)
