"""ADR in the env: ranges follow the reported performance, metrics reach metrics.csv."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from robot_ppo.spec import load_spec
from sim.adr import AdrConfig, AutomaticDomainRandomization
from sim.adr_dynamics import SharedAdr, adr_config, adr_params
from sim.curriculum import Curriculum, CurriculumConfig
from sim.dynamics import resolve_dynamics

FAST = AdrConfig(queue_size=2, boundary_prob=1.0)


def run_episodes(env, n: int, max_steps: int = 5) -> dict[str, float]:
    """n short episodes (the fake performance ignores what happened); last metrics."""
    metrics: dict[str, float] = {}
    for _ in range(n):
        env.reset()
        u = env.unwrapped
        u._steps = u.robot_spec.task.episode_steps - max_steps  # end after max_steps
        done = False
        while not done:
            _, _, term, trunc, info = env.step(np.zeros(1, dtype=np.float32))
            done = term or trunc
        metrics = info["episode_metrics"]
    return metrics


def make(perf: float, share: SharedAdr):
    return sim.make_env("cartpole", "adr", seed=0, adr_config=FAST, adr_share=share,
                        performance=lambda info, terminated: perf)


def test_ranges_widen_when_always_successful_and_narrow_back_when_failing():
    env = make(1.0, SharedAdr())
    initial = {p.name: p.initial for p in adr_params(load_spec("cartpole"))}
    h0 = run_episodes(env, 1)["adr/entropy"]
    m = run_episodes(env, 120)
    assert m["adr/entropy"] > h0 + 1.0
    widened = [n for n, (lo, hi) in initial.items()
               if m[f"adr/{n}_hi"] > hi or m[f"adr/{n}_lo"] < lo]
    assert len(widened) >= len(initial) // 2
    assert m["curriculum/level"] > 0
    # the same process-wide ADR, now failing everywhere: back to the initial band
    env.unwrapped.performance = lambda info, terminated: 0.0
    m = run_episodes(env, 400)
    for n, (lo, hi) in initial.items():
        assert (m[f"adr/{n}_lo"], m[f"adr/{n}_hi"]) == pytest.approx((lo, hi))
    assert m["adr/entropy"] == pytest.approx(h0)
    assert m["curriculum/level"] == 0.0
    env.close()


@pytest.mark.parametrize(("thresholds", "rel", "perf", "widens"), [
    ((0.8, 0.4), False, 0.6, False), ((0.5, 0.25), False, 0.6, True),
    ((0.8, 0.4), True, 0.6, True), ((0.8, 0.4), True, 0.1, False)])
def test_train_thresholds_decide_whether_a_middling_policy_widens(thresholds, rel, perf,
                                                                   widens):
    """A performance of 0.6 everywhere lies between the default thresholds (nothing moves),
    above --adr-high 0.5 (ranges grow), and, with --adr-relative, at 100 % of the policy's
    level, above 0.8 of it (ranges grow); a level of 0.1 is below sim/adr.py's
    MIN_REFERENCE 0.2 (nothing widens): the options reach the ADR of the training's envs."""
    from robot_ppo.commands.train import robot_source

    settings = {"high_threshold": thresholds[0], "low_threshold": thresholds[1],
                "relative": rel}
    env = robot_source("cartpole", "adr", adr_config=adr_config(**settings)).factory()
    env.unwrapped.performance = lambda info, terminated: perf
    h0 = run_episodes(env, 1)["adr/entropy"]
    m = run_episodes(env, 300)
    assert (m["adr/entropy"] > h0 + 0.5) is widens
    if not widens:
        assert m["adr/entropy"] == pytest.approx(h0)
    assert ("adr/reference" in m) is rel
    if rel:
        assert m["adr/reference"] == pytest.approx(perf)
    env.close()


def test_train_hard_sides_grow_only_the_harder_ends():
    """--adr-sides hard reaches the training's ADR: a policy that copes everywhere widens each
    range at its harder end only (both ends for biases and slopes)."""
    from robot_ppo.commands.train import robot_source

    env = robot_source("cartpole", "adr", adr_config=adr_config(
        high_threshold=0.8, low_threshold=0.4, sides="hard")).factory()
    env.unwrapped.performance = lambda info, terminated: 1.0
    params = adr_params(load_spec("cartpole"))
    m = run_episodes(env, 300)
    grown = 0
    for p in params:
        lo, hi = m[f"adr/{p.name}_lo"], m[f"adr/{p.name}_hi"]
        if p.harder > 0:
            assert lo == pytest.approx(p.initial[0]), p.name
        elif p.harder < 0:
            assert hi == pytest.approx(p.initial[1]), p.name
        grown += (lo, hi) != pytest.approx(p.initial)
    assert grown >= len(params) // 2
    env.close()


def test_episode_draws_stay_inside_current_ranges():
    env = make(1.0, SharedAdr())
    run_episodes(env, 60)
    u = env.unwrapped
    for _ in range(20):
        env.reset()
        d = u.sim.dynamics_dict()
        for name, (lo, hi) in u.episode.adr.ranges().items():
            assert lo - 1e-12 <= d[name] <= hi + 1e-12
    env.close()


def test_adr_limits_reach_beyond_plain_randomization():
    spec = load_spec("cartpole")
    randomized = sim.dynamics.resolve_dynamics(spec, "randomized").ranges
    names = {p.name for p in adr_params(spec)}
    assert "gyro_bias_x" not in names and "kp_scale" not in names  # no IMU, torque mode
    for p in adr_params(spec):
        lo, hi = randomized[p.name]
        assert lo <= p.initial[0] <= p.initial[1] <= hi
        assert p.limits[1] > hi


def test_curriculum_promotes_and_demotes():
    c = Curriculum(CurriculumConfig(window=4, step=0.5, max_factor=3.0))
    for _ in range(8):
        c.report(True)
    assert c.level == 1.0 and c.factor == 3.0
    for _ in range(4):
        c.report(False)
    assert c.level == 0.5 and c.factor == 2.0


def test_adr_metrics_reach_metrics_csv(tmp_path):
    """Through the CLI: the ADR's metrics are logged, and --adr-relative reaches the envs
    (only then is the reference logged)."""
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "robot_ppo.cli", "train", "--robot", "cartpole",
                    "--dynamics", "adr", "--steps", "4096", "--out", str(out),
                    "--adr-relative", "true",
                    "--tensorboard", "false", "--progress", "false"], check=True,
                   capture_output=True, timeout=300)
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert "adr/entropy" in rows[0] and "curriculum/level" in rows[0]
    assert math.isfinite(float(rows[-1]["adr/entropy"]))
    assert 0.0 <= float(rows[-1]["adr/reference"]) <= 1.0


def test_adr_limits_keep_positive_quantities_physical() -> None:
    """A mass, inertia or friction scale may grow wide, but never down to zero."""
    from robot_ppo.spec import load_spec
    from sim.adr_dynamics import adr_params
    from sim.randomization import parse_randomization

    for robot in ("cartpole", "quadruped"):
        spec = load_spec(robot)
        ranges = parse_randomization(spec.randomization).ranges
        for p in adr_params(spec):
            train_lo = ranges[p.name][0]
            if train_lo > 0:
                assert p.limits[0] >= 0.5 * train_lo > 0, p
            assert p.limits[0] <= p.initial[0] and p.limits[1] >= p.initial[1]


def test_quadruped_harder_sides():
    """Heavier, weaker, slipperier, slower are harder; biases and slopes at either end."""
    sides = {p.name: p.harder for p in adr_params(load_spec("quadruped"))}
    assert sides["mass_scale"] == sides["payload_kg"] == sides["action_latency_s"] == 1
    assert sides["motor_strength"] == sides["friction"] == sides["kp_scale"] == -1
    assert sides["gravity_tilt_x"] == sides["gyro_bias_z"] == 0


def test_every_adr_episode_end_feeds_adr_and_the_curriculum():
    """Each episode end goes to ADR (its boundary queue or the reference) and to the
    disturbance curriculum."""
    env = sim.make_env("cartpole", "adr", seed=0, adr_share=SharedAdr(),
                       adr_config=AdrConfig(queue_size=50, boundary_prob=0.5),
                       performance=lambda info, terminated: 1.0)
    run_episodes(env, 5)  # fewer than a curriculum window and a queue: nothing is cleared
    state = env.unwrapped.get_train_state()
    queued = sum(len(q) for sides in state["queues"].values() for q in sides.values())
    assert queued + len(state["reference"]) == 5
    assert len(state["curriculum"]["results"]) == 5
    env.close()


def test_train_adr_fixed_keeps_named_parameters_at_their_dr_range():
    """--adr-fixed reaches the training envs' ADR: with a policy that copes everywhere every
    other range grows, the named ones stay at the plain-DR range, and every episode still
    draws them from it (they are randomized, not frozen at nominal)."""
    from robot_ppo.commands.train import robot_source

    fixed = ("motor_strength", "friction")
    settings = {"high_threshold": 0.5, "low_threshold": 0.25, "fixed": fixed}
    env = robot_source("cartpole", "adr", adr_config=adr_config(**settings)).factory()
    env.unwrapped.performance = lambda info, terminated: 1.0
    initial = {p.name: p.initial for p in adr_params(load_spec("cartpole"))}
    drawn: dict[str, list[float]] = {n: [] for n in fixed}
    # 400 episodes: about 25 per boundary queue of 20 (boundary_prob 0.5 over 16 free
    # boundaries), so each free range has had its chance to grow; 150 left 5-8 of the 8 grown
    for _ in range(400):
        m = run_episodes(env, 1)
        for n in fixed:
            drawn[n].append(env.unwrapped.sim.dynamics_dict()[n])
    for n in fixed:
        assert (m[f"adr/{n}_lo"], m[f"adr/{n}_hi"]) == pytest.approx(initial[n])
        lo, hi = initial[n]
        assert lo - 1e-9 <= min(drawn[n]) and max(drawn[n]) <= hi + 1e-9
        assert max(drawn[n]) - min(drawn[n]) > 0.5 * (hi - lo)   # spread over the range
    grown = [n for n, (lo, hi) in initial.items() if n not in fixed
             and (m[f"adr/{n}_lo"] < lo - 1e-9 or m[f"adr/{n}_hi"] > hi + 1e-9)]
    assert len(grown) >= 7
    env.close()


def test_bench_reach_set_is_what_the_fixed_hard_sided_adr_can_reach():
    """bench/dynamics/quadruped_adr_reach.yaml (the `gru_adr_reach` row: plain DR over the
    ranges `gru_adr_rel_fixed`'s ADR grows to) holds exactly those ranges."""
    spec = load_spec("quadruped")
    config = adr_config(0.8, 0.4, sides="hard", relative=True,
                        fixed=("friction", "motor_strength", "kp_scale", "kd_scale"))
    reach = AutomaticDomainRandomization(adr_params(spec), config).reach()
    path = Path(__file__).parents[2] / "bench" / "dynamics" / "quadruped_adr_reach.yaml"
    ranges = resolve_dynamics(spec, path).ranges
    for name, (lo, hi) in reach.items():
        assert ranges[name] == (pytest.approx(lo), pytest.approx(hi)), name
