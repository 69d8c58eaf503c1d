"""Task rewards are pure functions of RobotState: re-scoring a rollout gives the env reward."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.kinematics import chain_to
from sim.tasks import REWARDS


@pytest.mark.parametrize("robot", ["cartpole", "arm", "quadruped"])
def test_pure_reward_rescores_env_rollout(robot: str) -> None:
    env = sim.make_env(robot, "nominal", seed=0)
    u = env.unwrapped
    rng = np.random.default_rng(0)
    state, prev = u.sim.true_state(), np.zeros(u.robot_spec.act_dim)
    for _ in range(30):
        a = rng.uniform(-0.5, 0.5, u.robot_spec.act_dim)
        command = u.command.copy()
        _, r, term, _, _ = env.step(a.astype(np.float32))
        nxt = u.sim.true_state()
        r2, term2 = REWARDS[u.robot_spec.task.name](u.robot_spec, state, command, a, prev, nxt,
                                                    u.sim.extras())
        assert r == pytest.approx(r2) and term == term2
        state, prev = nxt, a
        if term:
            break


def test_forward_kinematics_matches_pybullet() -> None:
    env = sim.make_env("arm", "nominal", seed=0)
    u = env.unwrapped
    chain = chain_to(u.robot_spec, "lbr_iiwa_link_7")
    for _ in range(5):
        env.step(env.action_space.sample())
        q = u.sim.true_state().q
        c = u.sim.robot.client
        pb_pos = c.getLinkState(u.sim.robot.body, 6, computeForwardKinematics=True)[4]
        np.testing.assert_allclose(chain.position(q), pb_pos, atol=1e-5)


def test_walk_reward_weights_override_and_validation() -> None:
    from robot_ppo.spec import SpecError, load_spec, spec_from_dict
    from sim.tasks import walk

    spec = load_spec("quadruped")
    d = spec.to_dict()
    d["task"]["params"]["reward_weights"] = {"alive": 0.0, "tracking_lin": 2.0}
    w = walk._weights(spec_from_dict(d, origin="test"))
    assert w["alive"] == 0.0 and w["tracking_lin"] == 2.0
    assert w["torques"] == walk.WEIGHTS["torques"]
    d["task"]["params"]["reward_weights"] = {"feet_slip": 1.0}
    with pytest.raises(SpecError, match="feet_slip"):
        walk.WalkTask(spec_from_dict(d, origin="test"))


def test_reach_precision_term_peaks_at_target() -> None:
    from robot_ppo.spec import load_spec
    from sim.tasks import reach

    spec = load_spec("arm")
    env = sim.make_env("arm", "nominal", seed=0)
    s = env.unwrapped.sim.true_state()
    ee = reach.ee_position(spec, s.q)
    a = np.zeros(spec.act_dim)
    r0, _ = reach.reward(spec, s, ee, a, a, s)
    r10, _ = reach.reward(spec, s, ee + np.array([0.1, 0, 0]), a, a, s)
    p = spec.task.params
    expected0 = p["precision"] + p["success_bonus"]
    assert r0 == pytest.approx(expected0)
    assert r10 == pytest.approx(-0.1 + p["precision"] * np.exp(-0.1 / p["precision_sigma"]))


def _air_time_task(weight: float):
    from robot_ppo.spec import load_spec, spec_from_dict
    from sim.tasks import walk

    d = load_spec("quadruped").to_dict()
    d["task"]["params"]["reward_weights"] = {"feet_air_time": weight}
    d["task"]["params"]["only_positive_rewards"] = False  # see the term's sign
    return walk.WalkTask(spec_from_dict(d, origin="test"))


@pytest.mark.parametrize("command, air_steps, expected", [
    (0.5, 30, 30 / 48 - 0.5),    # a 0.625 s swing: paid 0.125 s at its touchdown
    (0.5, 10, 10 / 48 - 0.5),    # a short, shuffling step is charged
    (0.0, 30, 0.0),              # commanded to stand: no term
])
def test_feet_air_time_is_paid_at_touchdown_for_the_swing_before_it(command, air_steps,
                                                                     expected) -> None:
    state = sim.make_env("quadruped", "nominal", seed=0).unwrapped.sim.true_state()
    tasks = (_air_time_task(1.0), _air_time_task(0.0))
    for task in tasks:
        task.reset_command(np.random.default_rng(0))
        task.command = np.array([command])
    a = np.zeros(12)
    diffs = []
    contacts = [np.ones(4)] * 3 + [np.array([0.0, 1, 1, 1])] * air_steps + [np.ones(4)] * 3
    for c in contacts:
        extras = {"base_lin_vel": np.zeros(3), "base_pos": np.array([0, 0, 0.3]),
                  "contacts": c}
        on = [t.evaluate(state, a, a, state, extras).reward for t in tasks]
        diffs.append((on[0] - on[1]) * 48)  # reward = dt · Σ w·term
    touchdown = 3 + air_steps
    assert diffs[touchdown] == pytest.approx(expected)
    assert diffs[:touchdown] == [0.0] * touchdown and diffs[touchdown + 1:] == [0.0] * 2


def test_feet_air_time_comes_from_the_simulated_foot_contacts() -> None:
    """With the term weighted, the same seeded rollout (real physics, random actions that
    lift the feet) earns a different reward at the touchdowns and the same otherwise."""
    rewards = []
    for task in (_air_time_task(1.0), _air_time_task(0.0)):
        env = sim.make_env(task.spec, "nominal", seed=0)
        env.reset(seed=0)
        rng, rs = np.random.default_rng(1), []
        for _ in range(40):
            _, r, _, _, _ = env.step(rng.uniform(-3, 3, 12).astype(np.float32))
            rs.append(r)
        rewards.append(np.array(rs))
    differ = np.count_nonzero(rewards[0] != rewards[1])
    assert 0 < differ < 40


def test_walk_reward_params_change_the_reward_and_nothing_else() -> None:
    """`WalkTask.reward_params` is what `robot-ppo eval --robot` may ignore when it compares a
    checkpoint's spec: the same seeded rollout with all of them changed sees the same
    observations, terminations and episode score, and only the reward differs."""
    from robot_ppo.spec import load_spec, spec_from_dict
    from sim.tasks import walk

    base = load_spec("quadruped")
    d = base.to_dict()
    params = d["task"]["params"]
    assert set(walk.WalkTask.reward_params) == {"reward_weights", "tracking_sigma", "air_time"}
    params["reward_weights"]["feet_air_time"] = 1.0
    params["tracking_sigma"] = 0.1
    params["air_time"] = 0.2
    runs = []
    for spec in (base, spec_from_dict(d, origin="test")):
        env = sim.make_env(spec, "nominal", seed=0)
        obs, _ = env.reset(seed=0)
        rng, steps = np.random.default_rng(1), [(obs, 0.0, False, None)]
        for _ in range(40):
            obs, r, term, _, info = env.step(rng.uniform(-1, 1, 12).astype(np.float32))
            steps.append((obs, r, term, info.get("performance")))
            if term:
                break
        runs.append(steps)
    assert len(runs[0]) == len(runs[1])
    for (o0, _, t0, p0), (o1, _, t1, p1) in zip(*runs, strict=True):
        np.testing.assert_array_equal(o0, o1)
        assert t0 == t1 and p0 == p1
    assert any(a[1] != b[1] for a, b in zip(*runs, strict=True))
    assert runs[0][-1][3] is not None  # the score was compared, not two missing keys
