"""The safety layer's limits hold for any input, NaN/Inf included, and faults latch."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deploy.safety import SafetyConfig, SafetyLayer, Verdict
from robot_ppo.action import MODE_DAMPING, MODE_OFF, MODE_PD, JointCommand
from robot_ppo.spec import load_spec, spec_from_dict
from robot_ppo.state import RobotState

CARTPOLE = load_spec("cartpole")
_d = CARTPOLE.to_dict()
_d.update(name="arm2", action={"mode": "position", "scale": [0.5, 0.5], "clip": 1.0})
_d["joints"] = [
    {"name": "a", "motor_id": 1, "position_limits": [-1.0, 1.0], "velocity_limit": 2.0,
     "effort_limit": 5.0, "default_position": 0.2, "kp": 20.0, "kd": 0.5},
    {"name": "b", "motor_id": 2, "position_limits": [-0.5, 2.0], "velocity_limit": 3.0,
     "effort_limit": 3.0, "kp": 10.0, "kd": 0.3},
    {"name": "enc", "motor_id": 3, "actuated": False, "position_limits": [-3.0, 3.0],
     "velocity_limit": 9.0, "effort_limit": 1.0},
]
ARM = spec_from_dict(_d)

anyfloat = st.floats(allow_nan=True, allow_infinity=True, width=64)
big = st.one_of(anyfloat, st.floats(-1e3, 1e3))


def _cmd(n: int, vals: list[float], modes: list[int]) -> JointCommand:
    c = JointCommand.zeros(n)
    c.mode[:] = modes
    c.q[:], c.qd[:], c.tau[:], c.kp[:], c.kd[:] = (np.array(vals[i * n:(i + 1) * n])
                                                   for i in range(5))
    return c


def _check(layer: SafetyLayer, out: JointCommand, prev: JointCommand) -> None:
    act = layer.act
    for arr in (out.q, out.qd, out.tau, out.kp, out.kd):
        assert np.isfinite(arr).all()
    assert set(np.unique(out.mode)) <= {MODE_OFF, MODE_PD, MODE_DAMPING}
    assert (out.mode[~act] == MODE_OFF).all()
    assert (out.q >= layer.q_low - 1e-12).all() or not act.any()
    assert (out.q[act] <= layer.q_high[act] + 1e-12).all()
    assert (out.q[act] >= layer.q_low[act] - 1e-12).all()
    assert (np.abs(out.qd) <= layer.v_max + 1e-12).all()
    assert (np.abs(out.tau) <= layer.tau_max + 1e-12).all()
    assert (out.kp >= 0).all() and (out.kp <= layer.kp_max + 1e-12).all()
    assert (out.kd >= 0).all() and (out.kd <= layer.kd_max + 1e-12).all()
    if out.mode[act].max(initial=0) != MODE_DAMPING:
        assert (np.abs(out.q - prev.q)[act] <= layer.dq_max[act] + 1e-9).all()
        assert (np.abs(out.tau - prev.tau)[act] <= layer.dtau_max[act] + 1e-9).all()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(big, min_size=15, max_size=15),
                          st.lists(st.integers(0, 255), min_size=3, max_size=3),
                          st.lists(big, min_size=6, max_size=6)),
                min_size=1, max_size=12))
def test_limits_hold_for_any_command_sequence(seq: list) -> None:
    layer = SafetyLayer(ARM, SafetyConfig(nan_hold_cycles=2))
    layer.reset(np.array([0.0, 0.0, 0.0]))
    out = JointCommand.zeros(3)
    for vals, modes, st_vals in seq:
        prev = JointCommand(*(np.copy(getattr(layer.last, f)) for f in
                              ("mode", "q", "qd", "tau", "kp", "kd")))
        state = RobotState(0.0, np.array(st_vals[:3]), np.array(st_vals[3:]), np.zeros(3))
        layer.filter(_cmd(3, vals, modes), state, out)
        _check(layer, out, prev)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(big, min_size=10, max_size=10), min_size=1, max_size=10),
       st.lists(st.floats(-5, 5), min_size=4, max_size=4))
def test_torque_mode_limits_and_gating(seq: list, state_vals: list) -> None:
    layer = SafetyLayer(CARTPOLE)
    layer.reset(np.zeros(2))
    out = JointCommand.zeros(2)
    state = RobotState(0.0, np.array(state_vals[:2]), np.array(state_vals[2:]), np.zeros(2))
    for vals in seq:
        prev_tau = layer.last.tau.copy()
        layer.filter(_cmd(2, vals, [MODE_PD, MODE_PD]), state, out)
        assert np.isfinite(out.tau).all()
        assert abs(out.tau[0]) <= 10.0 and out.tau[1] == 0.0 and out.mode[1] == MODE_OFF
        if out.mode[0] == MODE_PD:
            assert abs(out.tau[0] - prev_tau[0]) <= layer.dtau_max[0] + 1e-9
        # beyond the rail end, no torque pushes further out
        if state.q[0] > 2.4:
            assert out.tau[0] <= 0.0
        if abs(state.qd[0]) > 5.0:
            assert out.tau[0] * state.qd[0] <= 0.0


def test_nan_holds_last_then_latches_damping() -> None:
    layer = SafetyLayer(ARM, SafetyConfig(nan_hold_cycles=3))
    layer.reset(np.zeros(3))
    out = JointCommand.zeros(3)
    good = JointCommand.zeros(3)
    good.mode[:2] = MODE_PD
    good.q[:2] = [0.01, 0.02]
    good.kp[:2] = [20.0, 10.0]
    assert layer.filter(good, None, out) == Verdict.OK
    sent_q = out.q.copy()
    bad = JointCommand.zeros(3)
    bad.mode[:2] = MODE_PD
    bad.q[:] = [np.nan, np.inf, 0.0]
    for _ in range(3):
        assert layer.filter(bad, None, out) == Verdict.HELD
        np.testing.assert_array_equal(out.q, sent_q)
    assert layer.filter(bad, None, out) == Verdict.LATCHED
    assert (out.mode[:2] == MODE_DAMPING).all() and out.mode[2] == MODE_OFF
    assert layer.latched and "non-finite" in layer.reason
    # once latched, even a good command gives damping
    assert layer.filter(good, None, out) == Verdict.LATCHED
    assert (out.mode[:2] == MODE_DAMPING).all()
    layer.reset(np.zeros(3))
    assert layer.filter(good, None, out) == Verdict.OK


def test_rate_limit_is_configurable_and_defaults_to_velocity_limit() -> None:
    layer = SafetyLayer(ARM)
    np.testing.assert_allclose(layer.dq_max[:2], np.array([2.0, 3.0]) / 60.0)
    layer = SafetyLayer(ARM, SafetyConfig(position_rate_limit=0.01))
    layer.reset(np.zeros(3))
    out = JointCommand.zeros(3)
    cmd = JointCommand.zeros(3)
    cmd.mode[:2] = MODE_PD
    cmd.q[:2] = [1.0, 1.0]
    for k in range(1, 4):
        layer.filter(cmd, None, out)
        np.testing.assert_allclose(out.q[:2], [0.01 * k, 0.01 * k])


def test_trip_latches_damping() -> None:
    layer = SafetyLayer(CARTPOLE)
    layer.reset(np.zeros(2))
    layer.trip("link lost")
    out = JointCommand.zeros(2)
    cmd = JointCommand.zeros(2)
    cmd.mode[0] = MODE_PD
    cmd.tau[0] = 5.0
    assert layer.filter(cmd, None, out) == Verdict.LATCHED
    assert out.mode[0] == MODE_DAMPING and out.tau[0] == 0.0 and out.kd[0] == 1.0
    assert layer.reason == "link lost"


def test_nan_on_the_first_cycle_gives_sensed_only_joints_nothing() -> None:
    """The command held after reset (no good command yet) obeys the module's rule too:
    a sensed-only joint gets MODE_OFF and all zeros, whatever its measured position."""
    layer = SafetyLayer(ARM, SafetyConfig(nan_hold_cycles=3))
    layer.reset(np.array([0.3, -0.2, 1.7]))  # the encoder joint reads 1.7 rad
    bad = JointCommand.zeros(3)
    bad.q[:] = np.nan
    out = JointCommand.zeros(3)
    assert layer.filter(bad, None, out) == Verdict.HELD
    assert out.mode[2] == MODE_OFF
    for arr in (out.q, out.qd, out.tau, out.kp, out.kd):
        assert arr[2] == 0.0
    # the actuated joints hold their measured pose, without torque
    np.testing.assert_array_equal(out.q[:2], [0.3, -0.2])
    assert (out.kp == 0).all() and (out.tau == 0).all()
