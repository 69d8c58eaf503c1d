"""The benchmark's statistics, as small pure functions (tests/bench/test_finetune_stats.py).

Returns of a policy on the shifted robot vary a lot from episode to episode (single
cartpole returns from 25 to 510 in docs/finetune.md), so every mean comes with a 95 %
percentile-bootstrap interval over episodes, and the improvement after − before is
bootstrapped from the two samples independently (before and after are different episodes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Samples = Sequence[float] | np.ndarray
"""Per-episode returns: a list or a 1-D array."""


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval."""

    mean: float
    low: float
    high: float

    def excludes_zero_from_above(self) -> bool:
        """The whole interval lies above zero (an improvement the data can show)."""
        return self.low > 0.0


def _clean(xs: Samples) -> np.ndarray:
    a = np.asarray(xs, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError("no samples")
    return a


def bootstrap_mean_ci(xs: Samples, level: float = 0.95, resamples: int = 10_000,
                      seed: int = 0) -> Interval:
    """Mean of `xs` with its percentile-bootstrap interval (resampling episodes)."""
    a = _clean(xs)
    rng = np.random.default_rng(seed)
    means = a[rng.integers(0, a.size, size=(resamples, a.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return Interval(float(a.mean()), float(lo), float(hi))


def bootstrap_diff_ci(after: Samples, before: Samples, level: float = 0.95,
                      resamples: int = 10_000, seed: int = 0) -> Interval:
    """mean(after) − mean(before), each sample resampled on its own (unpaired episodes)."""
    a, b = _clean(after), _clean(before)
    rng = np.random.default_rng(seed)
    da = a[rng.integers(0, a.size, size=(resamples, a.size))].mean(axis=1)
    db = b[rng.integers(0, b.size, size=(resamples, b.size))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(da - db, [tail, 1.0 - tail])
    return Interval(float(a.mean() - b.mean()), float(lo), float(hi))


def gap_recovered(before: float, after: float, oracle: float) -> float:
    """(after − before) / (oracle − before): 0 = no gain, 1 = as good as the oracle.

    NaN when the oracle is no better than the reference (there is no gap to recover, and a
    ratio over a non-positive gap would flip its sign)."""
    gap = oracle - before
    if not math.isfinite(gap) or gap <= 0.0:
        return math.nan
    return (after - before) / gap
