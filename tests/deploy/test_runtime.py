"""The runtime against the real device logic on a real pty: normal run, faults, bad input."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from deploy.inference import OnnxPolicy
from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from firmware_bridge import FaultConfig, Mode
from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec, spec_from_dict

from .controller import virtual_controller

FAST = {"rt_priority": 0, "cpu": -2, "standby_s": 0.1, "damping_s": 0.2, "quiet": True,
        "link_timeout_ms": 600.0, "rate_margin": 20.0}
# generous timeouts and no rate refusal: 2 shared, heavily loaded cores and the server
# thread in the same process (GIL) give round-trip spikes of 100+ ms here


def cfg(policy: Path, port: str, tmp: Path, **kw: object) -> RunConfig:
    base: dict[str, object] = dict(FAST, policy=policy, port=port,
                                   stats_file=str(tmp / "stats.json"), duration=0.5)
    base.update(kw)
    return RunConfig(**base)  # type: ignore[arg-type]


def assert_commands_within_limits(plant: object, spec: RobotSpec) -> None:
    cmds = plant.commands  # type: ignore[attr-defined]
    assert cmds, "the plant received no commands"
    eff = np.array([j.effort_limit for j in spec.joints])
    for c in cmds:
        for arr in (c.q, c.qd, c.tau, c.kp, c.kd):
            assert np.isfinite(arr).all()
        assert (np.abs(c.tau) <= eff + 1e-9).all()


def test_run_end_to_end_with_log(tmp_path: Path, cartpole_onnx: Path, cartpole) -> None:
    with virtual_controller(cartpole) as srv:
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, log_dir=str(tmp_path / "logs"),
                        explore=0.5)).run()
        dev = srv.device
        assert not dev.enabled and dev.commands_applied >= 10
    assert s["stop_reason"] == "duration" and not s["fault"]
    assert s["final_device"]["disabled_confirmed"] is True
    assert 20 <= s["achieved_rate_hz"] <= 61 and s["cycles"] >= 10
    for key in ("jitter_us", "compute_us", "bus_rtt_us"):
        assert {"p50", "p99"} <= set(s[key])
    assert "max" in s["jitter_us"]
    import json
    assert json.loads((tmp_path / "stats.json").read_text())["cycles"] == s["cycles"]
    # the rollout log holds the policy steps with log-probs (exploration)
    from robot_ppo.rollout_format import read_rollouts
    data = read_rollouts(tmp_path / "logs")
    assert data.n_steps == s["cycles"]
    ep = data.episodes[0]
    assert np.isfinite(ep["logp"]).all()
    assert_commands_within_limits(srv.device.plant, cartpole)


def test_nan_policy_holds_then_damps_then_disables(tmp_path: Path, cartpole_onnx: Path,
                                                   cartpole, monkeypatch) -> None:
    real_step = OnnxPolicy.step
    calls = {"n": 0}

    def nan_after_10(self: OnnxPolicy, obs: np.ndarray):  # type: ignore[no-untyped-def]
        t, m, s = real_step(self, obs)
        calls["n"] += 1
        if calls["n"] > 10 + 30:  # standby runs the policy too (0.1 s at 60 Hz, warm-up)
            t[:] = np.nan
            m[:] = np.inf
        return t, m, s

    monkeypatch.setattr(OnnxPolicy, "step", nan_after_10)
    with virtual_controller(cartpole) as srv:
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, duration=3.0,
                        nan_hold_cycles=3)).run()
        plant = srv.device.plant
        assert not srv.device.enabled
    assert s["fault"] and "non-finite" in s["stop_reason"]
    assert s["safety_held_cycles"] >= 3
    assert s["cycles"] < 60, "must stop long before the 3 s duration"
    assert_commands_within_limits(plant, cartpole)
    modes = [int(c.mode[0]) for c in plant.commands]
    assert int(Mode.DAMPING) in modes


def test_nan_on_the_first_cycle_sends_nothing_to_the_sensed_only_joint(
        tmp_path: Path, cartpole_onnx: Path, cartpole, monkeypatch) -> None:
    """The policy's very first output is NaN: the held command (from SafetyLayer.reset) gives
    the encoder-only pole joint nothing, though the pole reads 0.1 rad."""
    real_step, real_enable = OnnxPolicy.step, Runtime._enable_and_ramp
    running = {"policy": False}

    def enable(self: Runtime) -> None:
        real_enable(self)
        running["policy"] = True

    def nan_policy(self: OnnxPolicy, obs: np.ndarray):  # type: ignore[no-untyped-def]
        t, m, s = real_step(self, obs)
        if running["policy"]:
            t[:] = np.nan
            m[:] = np.nan
        return t, m, s

    monkeypatch.setattr(OnnxPolicy, "step", nan_policy)
    monkeypatch.setattr(Runtime, "_enable_and_ramp", enable)
    with virtual_controller(cartpole) as srv:
        plant = srv.device.plant
        for _ in range(5):  # repeated: the server thread steps the plant meanwhile
            plant.q = np.array([0.0, 0.1])  # type: ignore[attr-defined]
            time.sleep(0.01)
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, duration=2.0,
                        nan_hold_cycles=3)).run()
        cmds = srv.device.host_commands  # type: ignore[attr-defined]
    assert s["fault"] and "non-finite" in s["stop_reason"] and s["safety_held_cycles"] >= 3
    assert len(cmds) >= 3  # the held commands, then the safe stop's damping
    for c in cmds:
        assert int(c.mode[1]) == int(Mode.OFF)
        assert c.q[1] == 0.0 and c.kp[1] == 0.0 and c.kd[1] == 0.0 and c.tau[1] == 0.0


def test_link_loss_stops_safely_in_bounded_time(tmp_path: Path, cartpole_onnx: Path,
                                                cartpole) -> None:
    # the device stops answering after 40 replies (standby reads included)
    with virtual_controller(cartpole, faults=FaultConfig(stall_after=40)) as srv:
        t0 = time.monotonic()
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, duration=5.0,
                        link_timeout_ms=100.0)).run()
        elapsed = time.monotonic() - t0
        time.sleep(0.3)
        dev = srv.device
        # the host could not disable it: the device watchdog put the motors in the safe state
        assert not dev.enabled and dev.watchdog_tripped
    assert s["fault"] and "link lost" in s["stop_reason"]
    assert elapsed < 3.0
    assert s["final_device"]["disabled_confirmed"] is False


def test_device_watchdog_report_stops(tmp_path: Path, cartpole_onnx: Path, cartpole) -> None:
    # a 5 ms device watchdog cannot be fed by a 60 Hz loop: the device trips and says so
    with virtual_controller(cartpole, watchdog_s=0.005) as srv:
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, duration=3.0)).run()
        assert not srv.device.enabled
    assert s["fault"] and "watchdog" in s["stop_reason"]
    assert s["cycles"] < 30


def test_estop_file_latches_device_estop(tmp_path: Path, cartpole_onnx: Path,
                                         cartpole) -> None:
    import threading
    estop = tmp_path / "estop"

    def touch_later() -> None:
        time.sleep(0.6)
        estop.touch()

    with virtual_controller(cartpole) as srv:
        threading.Thread(target=touch_later, daemon=True).start()
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, duration=5.0,
                        estop_file=str(estop))).run()
        assert srv.device.estopped and not srv.device.enabled
        assert "e-stop file" in s["stop_reason"]
        assert s["final_device"]["estopped"] is True
        # the latched e-stop is not silently cleared by the next run ...
        applied = srv.device.commands_applied
        with pytest.raises(UserError, match="latched ESTOP"):
            Runtime(cfg(cartpole_onnx, srv.url, tmp_path)).run()
        assert srv.device.commands_applied == applied and srv.device.estopped
        # ... only deliberately
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, clear_latched=True,
                        duration=0.2)).run()
        assert s["stop_reason"] == "duration" and not srv.device.estopped


def test_stale_estop_file_refused(tmp_path: Path, cartpole_onnx: Path, cartpole) -> None:
    estop = tmp_path / "estop"
    estop.touch()
    with virtual_controller(cartpole) as srv, pytest.raises(UserError, match="already exists"):
        Runtime(cfg(cartpole_onnx, srv.url, tmp_path, estop_file=str(estop))).run()


def test_unsustainable_rate_refused_before_enabling(tmp_path: Path, cartpole_onnx: Path,
                                                    cartpole) -> None:
    with virtual_controller(cartpole) as srv:
        with pytest.raises(UserError, match="cannot be sustained") as exc:
            # 2 kHz with 5 % of its 500 µs period for round trip + compute: no link keeps it
            Runtime(cfg(cartpole_onnx, srv.url, tmp_path, rate=2000.0,
                        rate_margin=0.05)).run()
        assert "not enabled" in str(exc.value)
        assert srv.device.commands_applied == 0 and not srv.device.enabled


def test_non_answering_port_fails_in_bounded_time(tmp_path: Path, cartpole_onnx: Path) -> None:
    master, slave = os.openpty()
    try:
        t0 = time.monotonic()
        with pytest.raises(UserError, match="did not answer the handshake"):
            Runtime(cfg(cartpole_onnx, os.ttyname(slave), tmp_path,
                        connect_timeout_s=0.5)).run()
        assert time.monotonic() - t0 < 2.0
    finally:
        os.close(master)
        os.close(slave)


def test_missing_port_clear_error(tmp_path: Path, cartpole_onnx: Path) -> None:
    with pytest.raises(UserError):
        Runtime(cfg(cartpole_onnx, "/dev/ttyDOESNOTEXIST9", tmp_path)).run()


def test_controller_for_another_robot_refused(tmp_path: Path, cartpole_onnx: Path,
                                              cartpole) -> None:
    with virtual_controller(cartpole, spec_hash=b"\x01" * 8) as srv, \
            pytest.raises(UserError, match="does not match this robot"):
        Runtime(cfg(cartpole_onnx, srv.url, tmp_path)).run()


def test_model_for_another_robot_refused(tmp_path: Path, cartpole_onnx: Path, cartpole) -> None:
    import yaml
    d = cartpole.to_dict()
    d["name"] = "cartpole_imu"
    d["observation"]["terms"] = d["observation"]["terms"][:1]
    spec_file = tmp_path / "other.yaml"
    spec_file.write_text(yaml.safe_dump(d))
    spec_from_dict(d)
    with pytest.raises(UserError, match="robot observation layout"):
        Runtime(cfg(cartpole_onnx, "/dev/null", tmp_path, robot=str(spec_file))).run()


def test_position_robot_ramps_to_default_pose(tmp_path: Path, cartpole) -> None:
    """Position mode: enable, interpolate from the measured pose to the default pose, then
    the policy; every command within the limits and the per-cycle step."""
    from .conftest import export_for
    d = cartpole.to_dict()
    d["name"] = "slider_pd"
    d["action"] = {"mode": "position", "scale": 0.05, "clip": 1.0}
    d["joints"][0].update(kp=30.0, kd=8.0, default_position=0.5, velocity_limit=3.0)
    spec = spec_from_dict(d)
    policy = export_for(spec, tmp_path / "pd.onnx", gain=1.0)
    with virtual_controller(spec) as srv:
        s = Runtime(cfg(policy, srv.url, tmp_path, robot="", ramp_s=1.0, duration=0.3)).run()
        plant = srv.device.plant
        cmds = [c for c in plant.commands if int(c.mode[0]) == int(Mode.PD)]
    assert not s["fault"], s["stop_reason"]
    q_targets = np.array([c.q[0] for c in cmds])
    assert q_targets[0] < 0.2 and q_targets.max() == pytest.approx(0.5, abs=0.06)
    # the ramp moves at most v_max / rate per cycle, monotonically towards the default
    steps = np.diff(q_targets[: int(0.8 * 60)])
    assert (steps >= -1e-9).all() and (steps <= 3.0 / 60 + 1e-9).all()
    assert abs(plant.q[0] - 0.5) < 0.1
