"""ADR widens a range when the policy does well at its boundary and narrows it otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from sim.adr import MIN_REFERENCE, AdrConfig, AdrParam, AutomaticDomainRandomization


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


def test_hard_sides_move_only_the_harder_end():
    params = [AdrParam("mass", (1.0, 2.0), (0.5, 3.0), 0.1, harder=+1),
              AdrParam("strength", (0.8, 1.2), (0.4, 1.6), 0.1, harder=-1),
              AdrParam("tilt", (-0.1, 0.1), (-0.2, 0.2), 0.05)]
    config = AdrConfig(queue_size=2, boundary_prob=1.0, sides="hard")
    adr, rng = AutomaticDomainRandomization(params, config), np.random.default_rng(2)
    pins = set()
    for _ in range(300):
        _, pinned = adr.sample(rng)
        pins.add(pinned)
        adr.report(pinned, 1.0)                       # copes everywhere: every probed end grows
    assert pins == {("mass", "hi"), ("strength", "lo"), ("tilt", "lo"), ("tilt", "hi")}
    ranges = adr.ranges()
    assert ranges["mass"] == (1.0, pytest.approx(3.0))       # heavier side up to its limit
    assert ranges["strength"] == (pytest.approx(0.4), 1.2)   # weaker side down to its limit
    assert ranges["tilt"] == (pytest.approx(-0.2), pytest.approx(0.2))  # hard at both ends
    # the same stream with both sides widens the easy ends too
    both = AutomaticDomainRandomization(params, AdrConfig(queue_size=2, boundary_prob=1.0))
    run_episodes(both, np.random.default_rng(2), lambda v: 1.0, 300)
    assert both.ranges()["mass"][0] < 1.0 and both.ranges()["strength"][1] > 1.2


def test_fixed_parameters_are_drawn_from_their_initial_range_but_never_pinned_or_moved():
    params = [AdrParam("mass", (1.0, 2.0), (0.5, 3.0), 0.1, harder=+1),
              AdrParam("strength", (0.8, 1.2), (0.4, 1.6), 0.1, harder=-1)]
    config = AdrConfig(queue_size=2, boundary_prob=1.0, fixed=("strength",))
    adr, rng = AutomaticDomainRandomization(params, config), np.random.default_rng(3)
    pins, strengths = set(), []
    for _ in range(300):
        values, pinned = adr.sample(rng)
        pins.add(pinned)
        strengths.append(values["strength"])
        adr.report(pinned, 1.0)                       # copes everywhere
    assert pins == {("mass", "lo"), ("mass", "hi")}
    assert adr.ranges()["mass"] == (pytest.approx(0.5), pytest.approx(3.0))
    assert adr.ranges()["strength"] == (0.8, 1.2)
    assert 0.8 <= min(strengths) < 0.85 and 1.15 < max(strengths) <= 1.2
    # a saved state (e.g. from a run without --adr-fixed) cannot widen it either
    adr.load_state_dict({"ranges": {"strength": [0.4, 1.6]}, "queues": {}})
    assert adr.ranges()["strength"] == (0.8, 1.2)
    # a report for its boundary (from such a run's queue) moves nothing
    for _ in range(4):
        assert adr.report(("strength", "lo"), 1.0) is False
    assert adr.ranges()["strength"] == (0.8, 1.2)


@pytest.mark.parametrize("sides, fixed", [("both", ()), ("hard", ()), ("hard", ("strength",))])
def test_reach_is_where_a_policy_that_copes_everywhere_takes_the_ranges(sides, fixed):
    params = [AdrParam("mass", (1.0, 2.0), (0.5, 3.0), 0.1, harder=+1),
              AdrParam("strength", (0.8, 1.2), (0.4, 1.6), 0.1, harder=-1),
              AdrParam("tilt", (-0.1, 0.1), (-0.2, 0.2), 0.05)]
    config = AdrConfig(queue_size=2, boundary_prob=1.0, sides=sides, fixed=fixed)
    adr = AutomaticDomainRandomization(params, config)
    reach = adr.reach()
    assert reach != adr.ranges()                      # something is left to grow
    run_episodes(adr, np.random.default_rng(4), lambda v: 1.0, 600)
    assert adr.ranges() == {n: (pytest.approx(lo), pytest.approx(hi))
                            for n, (lo, hi) in reach.items()}


def test_unknown_sides_are_refused():
    with pytest.raises(ValueError, match="'both' or 'hard'"):
        AdrConfig(sides="easy")


def relative(**kw) -> AutomaticDomainRandomization:
    params = [AdrParam("mass", (1.0, 2.0), (0.5, 3.0), 0.1, harder=+1)]
    return AutomaticDomainRandomization(
        params, AdrConfig(queue_size=3, boundary_prob=0.5, reference_window=20, **kw))


def run_levels(adr, rng, ordinary: float, boundary: float, n: int) -> None:
    """n episodes scoring `ordinary` when nothing is pinned, `boundary` when pinned."""
    for _ in range(n):
        _, pinned = adr.sample(rng)
        adr.report(pinned, boundary if pinned else ordinary)


@pytest.mark.parametrize(("rel", "widens"), [(False, False), (True, True)])
def test_relative_thresholds_compare_a_boundary_with_the_policys_level(rel, widens):
    """A policy at 0.5 on its ranges that keeps 90 % of it at the boundaries: below the
    absolute 0.8 (nothing widens) but above 0.8 of its level (the range widens)."""
    adr = relative(relative=rel)
    run_levels(adr, np.random.default_rng(0), 0.5, 0.45, 200)
    assert (adr.ranges()["mass"] != (1.0, 2.0)) is widens
    if rel:
        assert adr.reference() == pytest.approx(0.5)
        assert adr.thresholds() == pytest.approx((0.4, 0.2))


def test_relative_thresholds_narrow_a_boundary_far_below_the_level():
    adr, rng = relative(relative=True), np.random.default_rng(1)
    run_levels(adr, rng, 0.5, 0.5, 200)
    lo, hi = adr.ranges()["mass"]
    assert lo < 1.0 and hi > 2.0
    run_levels(adr, rng, 0.9, 0.3, 400)  # 0.3 <= 0.4 · 0.9: every boundary narrows back
    assert adr.ranges()["mass"] == pytest.approx((1.0, 2.0))


def test_relative_thresholds_widen_nothing_before_the_policy_does_the_task():
    """Reference 0.1 < MIN_REFERENCE 0.2: boundaries at the same level do not widen."""
    assert MIN_REFERENCE == 0.2  # the value --adr-min-reference had by default
    adr = relative(relative=True)
    run_levels(adr, np.random.default_rng(2), 0.1, 0.1, 300)
    assert adr.ranges()["mass"] == (1.0, 2.0)
    assert adr.thresholds()[0] is None
