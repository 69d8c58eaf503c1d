"""The one observation builder and the one action mapping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from robot_ppo.action import MODE_OFF, MODE_PD, ActionMapping
from robot_ppo.observation import ObservationBuilder, observation_layout
from robot_ppo.spec import load_spec, spec_from_dict
from robot_ppo.state import RobotState, projected_gravity


def with_history(h: int):
    data = load_spec("cartpole").to_dict()
    data["observation"]["history"] = h
    data["observation"]["terms"].append({"name": "last_action", "scale": 0.5})
    return spec_from_dict(data)


def state(q0: float, q1: float, t: float = 0.0) -> RobotState:
    s = RobotState.zeros(2)
    s.t, s.q[:] = t, (q0, q1)
    s.qd[:] = (10 * q0, 10 * q1)
    return s


def test_cartpole_observation_is_scaled_joint_state():
    spec = load_spec("cartpole")
    b = ObservationBuilder(spec)
    obs = b.build(state(0.5, -0.1))
    vel_scale = spec.observation.terms[1].scale
    np.testing.assert_allclose(obs, [0.5, -0.1, 5.0 * vel_scale, -1.0 * vel_scale], rtol=1e-6)
    assert obs.dtype == np.float32
    assert len(observation_layout(spec)) == b.obs_dim


def test_history_stacks_newest_first_and_fills_on_reset():
    spec = with_history(3)
    b = ObservationBuilder(spec)
    f = b.frame_size
    o1 = b.build(state(0.1, 0.0), last_action=np.array([1.0]))
    assert o1.shape == (3 * f,)
    np.testing.assert_array_equal(o1[:f], o1[f:2 * f])  # history filled with the first frame
    o2 = b.build(state(0.2, 0.0), last_action=np.array([-1.0]))
    o3 = b.build(state(0.3, 0.0), last_action=np.array([0.0]))
    np.testing.assert_array_equal(o3[f:2 * f], o2[:f])
    np.testing.assert_array_equal(o3[2 * f:], o1[:f])
    assert o3[f - 1] == 0.0 and o2[f - 1] == -0.5  # last_action scaled by 0.5
    layout = observation_layout(spec)
    assert layout[f].startswith("t-1:") and layout[2 * f].startswith("t-2:")
    b.reset()
    o4 = b.build(state(0.9, 0.0))
    np.testing.assert_array_equal(o4[:f], o4[2 * f:])


def test_noise_only_with_rng():
    spec = load_spec("cartpole")
    b = ObservationBuilder(spec)
    clean = b.build(state(0.0, 0.0))
    noisy = b.build(state(0.0, 0.0), rng=np.random.default_rng(0))
    assert np.any(clean != noisy)
    assert np.all(np.abs(noisy[:2]) <= spec.observation.terms[0].noise + 1e-9)


def test_projected_gravity_upright_and_tilted():
    np.testing.assert_allclose(projected_gravity(np.array([0, 0, 0, 1.0])), [0, 0, -1])
    # 90 degrees about x: gravity points along -y... in the base frame it is (0, -1, 0)
    s = np.sin(np.pi / 4)
    np.testing.assert_allclose(projected_gravity(np.array([s, 0, 0, s])), [0, -1, 0], atol=1e-12)


@given(arrays(np.float64, 1, elements=st.floats(-1e6, 1e6)))
def test_torque_targets_stay_within_effort_limits(a):
    m = ActionMapping(load_spec("cartpole"))
    t = m.targets(a)
    assert np.all(np.abs(t) <= 10.0)


def test_targets_formula_and_command_layout():
    spec = load_spec("cartpole")
    m = ActionMapping(spec)
    np.testing.assert_allclose(m.targets(np.array([0.3])), [3.0])
    np.testing.assert_allclose(m.targets(np.array([[5.0], [-5.0]])), [[10.0], [-10.0]])
    cmd = m.to_command(np.array([2.5]))
    assert list(cmd.mode) == [MODE_PD, MODE_OFF]
    assert cmd.tau[0] == 2.5 and cmd.tau[1] == 0.0


def test_position_mode_targets_offset_by_default_pose():
    data = load_spec("cartpole").to_dict()
    data["action"]["mode"] = "position"
    data["action"]["scale"] = 0.5
    with pytest.raises(Exception, match="kp > 0"):
        spec_from_dict(data)
    data["joints"][0].update(kp=50.0, kd=2.0, default_position=0.2)
    m = ActionMapping(spec_from_dict(data))
    np.testing.assert_allclose(m.targets(np.array([1.0])), [0.7])
    np.testing.assert_allclose(m.targets(np.array([100.0])), [0.7])  # clipped at ±1 first
    cmd = m.to_command(np.array([0.7]))
    assert cmd.q[0] == 0.7 and cmd.kp[0] == 50.0 and cmd.kd[0] == 2.0
