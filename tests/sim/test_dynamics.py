"""Domain randomization, in-episode drift and the evaluation dynamics sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from robot_ppo.errors import UserError
from robot_ppo.spec import SpecError, load_spec, spec_from_dict
from sim.dynamics import resolve_dynamics
from sim.randomization import PARAMS, parse_randomization


def _pole_trajectory(dynamics: dict) -> np.ndarray:
    env = sim.make_env("cartpole", dynamics, seed=3)
    qs = []
    for k in range(40):
        env.step(np.array([0.3 * np.sin(k / 5)], np.float32))
        qs.append(env.unwrapped.sim.true_state().q.copy())
    return np.array(qs)


def test_heavier_pole_changes_the_trajectory() -> None:
    light = _pole_trajectory({"base": "nominal"})
    light2 = _pole_trajectory({"base": "nominal"})
    heavy = _pole_trajectory({"base": "nominal", "ranges": {"payload_kg": 0.3}})
    np.testing.assert_array_equal(light, light2)
    assert np.abs(light[:, 1] - heavy[:, 1]).max() > 1e-3


def test_randomized_resets_sample_different_dynamics() -> None:
    env = sim.make_env("cartpole", "randomized")
    d1 = env.reset(seed=1)[1]["dynamics"]
    d2 = env.reset(seed=2)[1]["dynamics"]
    assert d1["mass_scale"] != d2["mass_scale"]
    nominal = sim.make_env("cartpole", "nominal").reset(seed=1)[1]["dynamics"]
    assert nominal == {k: p.nominal for k, p in PARAMS.items()}


def test_dynamics_drift_within_an_episode() -> None:
    env = sim.make_env("quadruped", {"base": "randomized", "drift": {"rate": 0.5,
                                                                     "event_rate": 2.0}})
    _, info = env.reset(seed=0)
    first = info["dynamics"]
    seen = []
    for _ in range(48):  # one second
        _, _, term, trunc, info = env.step(np.zeros(12, np.float32))
        seen.append(info["dynamics"])
        if term or trunc:
            break
    changed = {k for d in seen for k in d if d[k] != first[k]}
    assert {"mass_scale", "friction", "motor_strength"} <= changed
    for d in seen:  # drift stays inside the training ranges
        lo, hi = env.unwrapped.dynamics.ranges["mass_scale"]
        assert lo <= d["mass_scale"] <= hi


def test_nominal_has_no_drift() -> None:
    env = sim.make_env("cartpole", "nominal", seed=0)
    first = env.reset(seed=0)[1]["dynamics"]
    for _ in range(100):
        info = env.step(np.zeros(1, np.float32))[4]
    assert info["dynamics"] == first


def test_shifted_ranges_lie_outside_training_ranges() -> None:
    spec = load_spec("cartpole")
    train = resolve_dynamics(spec, "randomized").ranges
    shifted = resolve_dynamics(spec, "shifted").ranges
    for k in ("payload_kg", "joint_friction", "joint_damping", "action_latency_s",
              "obs_latency_s", "mass_scale"):
        assert shifted[k][0] >= train[k][1], k  # heavier pole, more friction, more latency
    assert shifted["motor_strength"][1] <= train["motor_strength"][0]


def test_dynamics_file(tmp_path: Path) -> None:
    f = tmp_path / "dyn.yaml"
    f.write_text("base: nominal\nranges:\n  payload_kg: 0.2\n  obs_latency_s: [0.01, 0.01]\n")
    env = sim.make_env("cartpole", str(f), seed=0)
    d = env.reset(seed=0)[1]["dynamics"]
    assert d["payload_kg"] == 0.2 and d["obs_latency_s"] == 0.01
    f.write_text("ranges:\n  payload: 0.2\n")
    with pytest.raises(UserError, match=r"ranges\.payload"):
        sim.make_env("cartpole", str(f))
    with pytest.raises(UserError, match="nominal, randomized, shifted"):
        sim.make_env("cartpole", "windy")


def test_observation_latency_delays_what_the_policy_sees() -> None:
    def first_move(latency: float) -> int:
        env = sim.make_env("cartpole", {"base": "nominal", "ranges": {"obs_latency_s": latency}},
                           seed=0)
        obs0 = env.reset(seed=0)[0]
        for k in range(10):
            obs = env.step(np.ones(1, np.float32))[0]
            if abs(obs[2] - obs0[2]) > 1e-3:  # cart velocity
                return k
        return 99

    assert first_move(0.0) == 0
    assert first_move(0.05) >= 2  # 50 ms at 60 Hz control ≈ 3 steps


@pytest.mark.parametrize("bad, key", [
    ({"ranges": {"mass": [1, 2]}}, "ranges.mass"),
    ({"ranges": {"mass_scale": [2, 1]}}, "ranges.mass_scale"),
    ({"drift": {"speed": 1}}, "drift.speed"),
    ({"push": {"velocity": -1}}, "push.velocity"),
    ({"wind": 1}, "wind"),
    ({"obs_noise": "yes"}, "obs_noise"),
])
def test_randomization_section_errors_name_the_key(bad: dict, key: str) -> None:
    with pytest.raises(SpecError, match=key.replace(".", r"\.")):
        parse_randomization(bad)


def test_spec_randomization_overrides_defaults() -> None:
    data = load_spec("cartpole").to_dict()
    data["randomization"] = {"ranges": {"friction": [0.9, 1.1]}, "drift": {"rate": 0.0}}
    spec = spec_from_dict(data)
    dset = resolve_dynamics(spec, "randomized")
    assert dset.ranges["friction"] == (0.9, 1.1)
    assert dset.drift is not None and dset.drift.rate == 0.0
    assert spec.spec_hash == load_spec("cartpole").spec_hash  # DR is not interface


def test_quadruped_shifted_is_held_out_except_floor_and_motors() -> None:
    """The quadruped's held-out set moves every parameter beyond training except floor
    friction, motor strength and gains (all of them beyond training at once with the extra
    mass leave the A1 unable to stand: bench/standing_check.py)."""
    spec = load_spec("quadruped")
    train = resolve_dynamics(spec, "randomized").ranges
    shifted = resolve_dynamics(spec, "shifted").ranges
    same = {k for k in train if tuple(shifted[k]) == tuple(train[k])}
    assert same == {"friction", "motor_strength", "kp_scale", "kd_scale"}
    for k in set(train) - same:
        lo, hi = shifted[k]
        assert lo >= train[k][1] or hi <= train[k][0], k
