"""The fine-tuning benchmark's statistics (bench/finetune_bench/stats.py)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from finetune_bench.stats import bootstrap_diff_ci, bootstrap_mean_ci, gap_recovered


def test_mean_interval_contains_the_mean_and_narrows_with_more_episodes() -> None:
    rng = np.random.default_rng(1)
    few = bootstrap_mean_ci(rng.normal(100.0, 30.0, size=10))
    many = bootstrap_mean_ci(rng.normal(100.0, 30.0, size=400))
    assert few.low < few.mean < few.high
    assert many.low < 100.0 < many.high
    assert (many.high - many.low) < (few.high - few.low) / 3


def test_mean_interval_of_a_constant_is_a_point() -> None:
    ci = bootstrap_mean_ci([5.0] * 8)
    assert (ci.mean, ci.low, ci.high) == (5.0, 5.0, 5.0)


def test_mean_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2)
    covered = 0
    for k in range(200):
        ci = bootstrap_mean_ci(rng.normal(0.0, 1.0, size=30), resamples=2000, seed=k)
        covered += ci.low <= 0.0 <= ci.high
    assert 0.88 <= covered / 200 <= 0.99


def test_difference_interval_sees_a_real_shift_and_not_a_null_one() -> None:
    rng = np.random.default_rng(3)
    before = rng.normal(200.0, 50.0, size=60)
    shifted = bootstrap_diff_ci(before + 60.0 + rng.normal(0, 5, 60), before)
    assert shifted.excludes_zero_from_above()
    assert shifted.mean == pytest.approx(60.0, abs=5.0)
    null = bootstrap_diff_ci(rng.normal(200.0, 50.0, size=60), before)
    assert null.low < 0.0 < null.high
    assert not null.excludes_zero_from_above()


def test_empty_samples_are_refused() -> None:
    with pytest.raises(ValueError):
        bootstrap_mean_ci([])
    with pytest.raises(ValueError):
        bootstrap_diff_ci([1.0], [])


def test_gap_recovered() -> None:
    assert gap_recovered(100.0, 150.0, 200.0) == pytest.approx(0.5)
    assert gap_recovered(100.0, 200.0, 200.0) == pytest.approx(1.0)
    assert gap_recovered(100.0, 80.0, 200.0) == pytest.approx(-0.2)
    assert math.isnan(gap_recovered(100.0, 150.0, 100.0))  # no gap
    assert math.isnan(gap_recovered(100.0, 150.0, 90.0))  # oracle worse: no gap either
