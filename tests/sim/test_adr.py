"""ADR widens a range when the policy does well at its boundary and narrows it otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from sim.adr import AdrConfig, AdrParam, AutomaticDomainRandomization


def make() -> AutomaticDomainRandomization:
    params = [AdrParam("pole_mass", (0.9, 1.1), (0.5, 3.0), 0.1),
              AdrParam("friction", (0.8, 1.0), (0.1, 2.0), 0.05)]
    return AutomaticDomainRandomization(params, AdrConfig(queue_size=5, boundary_prob=1.0))


def run_episodes(adr, rng, perf_fn, n):
    for _ in range(n):
        values, pinned = adr.sample(rng)
        for name, (lo, hi) in adr.ranges().items():
            assert lo - 1e-12 <= values[name] <= hi + 1e-12
        adr.report(pinned, perf_fn(values))


def test_widens_when_boundary_performance_is_high():
    adr, rng = make(), np.random.default_rng(0)
    h0 = adr.entropy()
    run_episodes(adr, rng, lambda v: 1.0, 200)
    lo, hi = adr.ranges()["pole_mass"]
    assert lo < 0.9 and hi > 1.1
    assert adr.entropy() > h0
    assert lo >= 0.5 and hi <= 3.0  # never beyond the hard limits


def test_narrows_when_low_but_never_inside_initial_range():
    adr, rng = make(), np.random.default_rng(1)
    run_episodes(adr, rng, lambda v: 1.0, 100)
    wide = adr.ranges()["pole_mass"]
    run_episodes(adr, rng, lambda v: 0.0, 400)
    lo, hi = adr.ranges()["pole_mass"]
    assert hi - lo < wide[1] - wide[0]
    assert (lo, hi) == pytest.approx((0.9, 1.1))


def test_grows_only_where_the_policy_copes():
    # performance falls off for heavy poles: the upper bound should stop well below the limit
    adr, rng = make(), np.random.default_rng(2)
    run_episodes(adr, rng, lambda v: 1.0 if v["pole_mass"] < 1.6 else 0.0, 2000)
    lo, hi = adr.ranges()["pole_mass"]
    assert 1.5 <= hi <= 1.8
    assert lo == pytest.approx(0.5)


def test_bad_param_definition_is_refused():
    with pytest.raises(ValueError, match="inside its limits"):
        AdrParam("x", (0.0, 5.0), (1.0, 2.0), 0.1)
