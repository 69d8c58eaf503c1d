"""The built-in servo_arm: its spec agrees with the STS3215's data, its simulated servos are
speed- and torque-limited as the real ones are, and its reach targets are reachable."""

from __future__ import annotations

import numpy as np

import sim
from firmware_bridge.servo.tables_feetech import MODELS
from robot_ppo.spec import load_spec
from sim.tasks.reach import ee_position


def test_spec_is_a_feetech_sts3215_arm() -> None:
    spec = load_spec("servo_arm")
    sts = MODELS["STS3215"]
    assert spec.bus is not None and spec.bus.protocol == "feetech"
    assert [s.model for s in spec.bus.servos] == ["STS3215"] * 6
    assert [j.motor_id for j in spec.joints] == [1, 2, 3, 4, 5, 6]
    assert spec.action.mode in sts.action_modes  # position: the STS3215 has no torque mode
    assert "torque" not in sts.action_modes
    for j in spec.joints:
        # limits are the servo's: stall torque and no-load speed (0.222 s / 60°)
        assert abs(j.effort_limit - sts.stall_torque) / sts.stall_torque < 0.02
        assert abs(j.velocity_limit - (np.pi / 3) / 0.222) < 0.15
        # every joint limit maps inside the servo's 0..4095 ticks at zero_offset 0
        span = np.array(j.position_limits) / (2 * np.pi) * sts.ticks_per_turn + 2048
        assert sts.position_range[0] <= span.min() and span.max() <= sts.position_range[1]


def test_servo_top_speed_is_the_no_load_speed() -> None:
    """A full-range target step saturates the servo: it runs at ~4.8 rad/s, never faster."""
    env = sim.make_env("servo_arm", "nominal", seed=0)
    env.reset(seed=0)
    a = np.zeros(6, np.float32)
    a[0] = 1.0  # pan: default 0 -> +1 rad (PD saturates at 2.9 N·m)
    speeds = []
    for _ in range(6):
        env.step(a)
        speeds.append(abs(env.unwrapped.sim.true_state().qd[0]))
    top = max(speeds)
    assert 3.5 < top <= 4.8 * 1.02, speeds
    # and the joint arrives: within 2 cm·rad of the target after the 2.5 s episode budget
    for _ in range(30):
        env.step(a)
    assert abs(env.unwrapped.sim.true_state().q[0] - 1.0) < 0.03


def test_torque_never_exceeds_stall() -> None:
    env = sim.make_env("servo_arm", "nominal", seed=0)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        env.step(rng.uniform(-1, 1, 6).astype(np.float32))
        tau = env.unwrapped.sim.true_state().tau
        assert np.all(np.abs(tau) <= 2.9 + 1e-9)


def test_reach_targets_are_reachable_and_above_reach_limit() -> None:
    spec = load_spec("servo_arm")
    env = sim.make_env("servo_arm", "nominal", seed=0)
    lo = np.array([j.position_limits[0] for j in spec.joints])
    hi = np.array([j.position_limits[1] for j in spec.joints])
    reach = 0.116 + 0.135 + 0.061 + 0.098  # upper arm + forearm + wrist + gripper
    shoulder = np.array([0.030, 0.0, 0.0624 + 0.054])
    dists = []
    for seed in range(50):
        env.reset(seed=seed)
        target = env.unwrapped.command
        assert np.linalg.norm(target - shoulder) <= reach + 1e-6
        dists.append(np.linalg.norm(target - ee_position(spec, env.unwrapped.sim.true_state().q)))
    # targets are FK of configurations inside the limits (the task's contract): the default
    # pose maps to a point, and targets spread around it by several cm
    assert np.all(lo <= 0) and np.all(hi >= 0)
    assert 0.05 < float(np.mean(dists)) < reach
