"""ADR and curriculum state survive a save/load round trip, clamped and validated."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest
import torch

import sim
from robot_ppo.errors import UserError
from robot_ppo.spec import load_spec
from sim.adr import AdrConfig, AdrParam, AutomaticDomainRandomization
from sim.adr_dynamics import SharedAdr, adr_config, adr_params, restore_adr_state
from sim.curriculum import Curriculum, CurriculumConfig


def make() -> AutomaticDomainRandomization:
    params = [AdrParam("pole_mass", (0.9, 1.1), (0.5, 3.0), 0.1),
              AdrParam("friction", (0.8, 1.0), (0.1, 2.0), 0.05)]
    return AutomaticDomainRandomization(params, AdrConfig(queue_size=5, boundary_prob=1.0))


def trained() -> AutomaticDomainRandomization:
    """An ADR whose ranges moved, whose queues hold results and whose reference has some."""
    adr, rng = make(), np.random.default_rng(0)
    for _ in range(83):
        _, pinned = adr.sample(rng)
        adr.report(pinned, 1.0)
    for perf in (0.25, 0.5):
        adr.report(None, perf)
    assert adr.ranges() != make().ranges()
    assert any(adr._queues.values())
    assert adr.reference() == 0.375
    return adr


def test_adr_round_trip_gives_identical_ranges_and_queues() -> None:
    adr = trained()
    state = adr.state_dict()
    # plain data only: what a weights_only checkpoint can hold
    buf = pickle.dumps(state)
    again = make()
    assert again.load_state_dict(pickle.loads(buf)) == []
    assert again.ranges() == adr.ranges()
    assert again._queues == adr._queues
    assert again.state_dict() == state
    assert again.entropy() == adr.entropy()
    assert again.reference() == adr.reference()


def test_state_without_reference_starts_it_empty() -> None:
    """Checkpoints written before relative thresholds existed have no 'reference'."""
    adr = trained()
    state = adr.state_dict()
    del state["reference"]
    adr.load_state_dict(state)
    assert adr.reference() == 0.0 and adr.state_dict()["reference"] == []


def test_adr_state_survives_torch_weights_only(tmp_path: Any) -> None:
    adr, curriculum = trained(), Curriculum(level=0.3, _results=[True, False])
    path = tmp_path / "s.pt"
    torch.save({**adr.state_dict(), "curriculum": curriculum.state_dict()}, path)
    data = torch.load(path, weights_only=True)
    again, c2 = make(), Curriculum()
    assert restore_adr_state(again, c2, data) == []
    assert again.ranges() == adr.ranges() and again._queues == adr._queues
    assert (c2.level, c2._results) == (0.3, [True, False])


def test_loaded_ranges_are_clamped_into_limits() -> None:
    adr = make()
    adr.load_state_dict({"ranges": {"pole_mass": [-10.0, 99.0], "friction": [0.95, 0.97]},
                         "queues": {}})
    assert adr.ranges()["pole_mass"] == (0.5, 3.0)  # the hard limits, never beyond
    assert adr.ranges()["friction"] == (0.8, 1.0)  # never inside the initial range
    for p in adr.params.values():
        lo, hi = adr.ranges()[p.name]
        assert p.limits[0] <= lo <= hi <= p.limits[1]


def test_unknown_names_are_ignored_and_missing_ones_kept() -> None:
    adr = make()
    ignored = adr.load_state_dict({
        "ranges": {"pole_mass": [0.7, 1.3], "wing_span": [0.0, 1.0]},
        "queues": {"wing_span": {"lo": [1.0], "hi": []}, "pole_mass": {"hi": [0.5, 0.6]}}})
    assert ignored == ["wing_span"]
    assert adr.ranges() == {"pole_mass": (0.7, 1.3), "friction": (0.8, 1.0)}
    assert adr._queues[("pole_mass", "hi")] == [0.5, 0.6]
    assert adr._queues[("pole_mass", "lo")] == [] and adr._queues[("friction", "lo")] == []
    assert set(adr._queues) == {(n, s) for n in adr.params for s in ("lo", "hi")}


def test_long_queues_keep_their_last_results() -> None:
    adr = make()  # queue_size 5: a loaded queue keeps at most 4, so the next report decides
    adr.load_state_dict({"ranges": {}, "queues": {"friction": {"hi": [0.0] * 3 + [1.0] * 4}}})
    assert adr._queues[("friction", "hi")] == [1.0] * 4
    assert adr.report(("friction", "hi"), 1.0)
    assert adr.ranges()["friction"] == pytest.approx((0.8, 1.05))


@pytest.mark.parametrize("state", [
    None, [], {"ranges": {}}, {"queues": {}},
    {"ranges": {"pole_mass": [1.0]}, "queues": {}},
    {"ranges": {"pole_mass": [1.2, 1.0]}, "queues": {}},
    {"ranges": {"pole_mass": [math.nan, 1.0]}, "queues": {}},
    {"ranges": {"pole_mass": ["a", 1.0]}, "queues": {}},
    {"ranges": {}, "queues": {"pole_mass": [1.0]}},
    {"ranges": {}, "queues": {"pole_mass": {"lo": [True]}}},
    {"ranges": {}, "queues": {}, "reference": 0.5},
    {"ranges": {}, "queues": {}, "reference": [math.inf]},
])
def test_malformed_adr_state_is_refused_and_changes_nothing(state: Any) -> None:
    adr = trained()
    before = adr.state_dict()
    with pytest.raises(ValueError):
        adr.load_state_dict(state)
    assert adr.state_dict() == before


def test_curriculum_round_trip_and_clamping() -> None:
    c = Curriculum(CurriculumConfig(window=4, step=0.25))
    for s in (True,) * 4 + (True, False):
        c.report(s)
    again = Curriculum(CurriculumConfig(window=4, step=0.25))
    again.load_state_dict(c.state_dict())
    assert (again.level, again._results) == (0.25, [True, False])
    assert again.state_dict() == c.state_dict()
    again.load_state_dict({"level": 7.0, "results": [True] * 9})
    assert again.level == 1.0 and again._results == [True] * 3  # window − 1 kept
    for bad in ({"level": "high", "results": []}, {"level": 0.5, "results": [1]},
                {"level": math.inf, "results": []}, {"results": []}):
        with pytest.raises(ValueError):
            again.load_state_dict(bad)
    assert again.level == 1.0


def test_restore_refuses_malformed_state_with_user_error() -> None:
    adr, c = trained(), Curriculum(level=0.4)
    before = adr.state_dict()
    good = {**make().state_dict(), "curriculum": {"level": 0.1, "results": []}}
    for bad in ("wide", {**good, "curriculum": {"level": "x", "results": []}},
                {"ranges": {}, "queues": {}},
                {**good, "ranges": {"friction": "wide"}}):
        with pytest.raises(UserError, match="malformed ADR state"):
            restore_adr_state(adr, c, bad)
        assert adr.state_dict() == before and c.level == 0.4  # nothing half-applied


def test_env_built_with_train_state_restores_its_process_adr() -> None:
    """The path every (worker) process takes: the env construction loads the state."""
    spec = load_spec("cartpole")
    share = SharedAdr()
    params = adr_params(spec)
    state = {"ranges": {p.name: list(p.limits) for p in params},
             "queues": {params[0].name: {"lo": [0.25], "hi": []}},
             "curriculum": {"level": 0.6, "results": [True, True]}}
    env = sim.make_env("cartpole", "adr", seed=0, adr_share=share, train_state=state)
    adr, curriculum = share.adr(spec), share.curriculum(spec)
    assert adr.ranges() == {p.name: p.limits for p in params}
    assert adr._queues[(params[0].name, "lo")] == [0.25]
    assert curriculum.level == 0.6 and env.unwrapped.episode.curriculum is curriculum
    saved = env.unwrapped.get_train_state()
    assert saved["ranges"] == state["ranges"]
    assert saved["curriculum"] == state["curriculum"]
    env.reset()  # episodes draw from the restored ranges
    d = env.unwrapped.sim.dynamics_dict()
    for p in params:
        assert p.limits[0] - 1e-12 <= d[p.name] <= p.limits[1] + 1e-12
    env.close()
    plain = sim.make_env("cartpole", "randomized", train_state=state)  # no ADR: ignored
    assert plain.unwrapped.get_train_state() is None
    plain.close()


def test_robot_factory_with_env_state_pickles_for_workers() -> None:
    from robot_ppo.commands.train import robot_source

    settings = adr_config(high_threshold=0.5, low_threshold=0.25, sides="hard",
                          relative=True, fixed=("friction",))
    source = robot_source("cartpole", "adr", adr_config=settings)
    state = {"ranges": {}, "queues": {}, "curriculum": {"level": 0.2, "results": []}}
    assert source.with_env_state is not None
    here = source.with_env_state(state)
    assert here.args[4] is source.factory.keywords["adr_share"], "the run's own ADR"
    here().close()  # the trainer process's share now holds an ADR ...
    factory = pickle.loads(pickle.dumps(here))
    assert factory.args[4]._adr == {}, "... which a worker's copy does not: it starts its own"
    assert factory.args[3] == state
    assert factory.args[5] == settings, "a resumed run keeps its ADR options"
    env = factory()
    config = env.unwrapped.episode.adr.config
    assert (config.sides, config.relative, config.fixed) == (
        "hard", True, ("friction",)), "the options reach the env's ADR"
    env.close()


def test_each_training_gets_its_own_adr() -> None:
    """Two trainings in one process (a notebook, a test) must not share ADR ranges; the
    envs of one training must."""
    from robot_ppo.commands.train import robot_source

    first, second = robot_source("cartpole", "adr"), robot_source("cartpole", "adr")
    a, a2, b = first.factory(), first.factory(), second.factory()
    wide = {"ranges": {p.name: list(p.limits) for p in adr_params(load_spec("cartpole"))},
            "queues": {}, "curriculum": {"level": 0.5, "results": []}}
    restore_adr_state(a.unwrapped.episode.adr, a.unwrapped.episode.curriculum, wide)
    assert a2.unwrapped.get_train_state()["ranges"] == wide["ranges"]
    assert b.unwrapped.get_train_state()["ranges"] != wide["ranges"]
    assert b.unwrapped.episode.curriculum.level == 0.0
    for env in (a, a2, b):
        env.close()


def test_env_restore_notes_say_what_a_resume_did() -> None:
    """The resume's log lines come from the env (the trainer never reads the state)."""
    spec = load_spec("cartpole")
    params = adr_params(spec)
    name, (lo, hi) = params[0].name, params[0].limits
    saved = {"ranges": {name: [lo - 10.0, hi], "not_a_param": [0.0, 1.0]}, "queues": {},
             "curriculum": {"level": 0.2, "results": []}}
    env: Any = sim.make_env("cartpole", "adr", adr_share=SharedAdr(), train_state=saved)
    notes = env.unwrapped.restore_notes(saved)
    assert len(notes) == 2
    assert "not_a_param" in notes[0] and "ignored" in notes[0]
    assert "clamped" in notes[1] and name in notes[1]
    assert "holds no ADR state" in env.unwrapped.restore_notes(None)[0]
    env.close()
    plain: Any = sim.make_env("cartpole", "randomized", train_state=saved)
    assert "is ignored" in plain.unwrapped.restore_notes(saved)[0]
    assert plain.unwrapped.restore_notes(None) == []
    plain.close()
