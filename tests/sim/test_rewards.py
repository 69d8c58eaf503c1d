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
