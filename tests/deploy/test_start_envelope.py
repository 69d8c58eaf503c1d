"""The runtime never drives a policy from a state it was not trained for: it waits with
torque off for the task's start envelope and then refuses; a termination or a joint beyond
its limits while running is a fault stop with a terminal rollout log. Real device logic on
a real pty; PyBullet where the physics matters (a pole that falls)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from deploy.runtime import Runtime
from robot_ppo.rollout_format import read_rollouts

from .controller import pybullet_controller, virtual_controller
from .test_runtime import assert_commands_within_limits, cfg

pytest.importorskip("sim")


def place(plant: object, q: list[float]) -> None:
    """Put the ideal plant's joints at `q`, at rest. Repeated for a few periods: the server
    thread steps the plant meanwhile and may write back the state it read just before."""
    for _ in range(5):
        plant.q, plant.qd = np.array(q), np.zeros(len(q))  # type: ignore[attr-defined]
        time.sleep(0.01)


def test_fallen_pole_is_refused_without_enabling(tmp_path: Path, cartpole_onnx: Path) -> None:
    """The simulated pole is released at once (no hold) and has fallen when the runtime
    connects: it waits the bounded start timeout, says why, and refuses; nothing enabled."""
    said: list[str] = []
    with pybullet_controller("cartpole", hold=False) as srv:
        time.sleep(1.2)  # the free pole is past 0.7 rad after 1 s and swings down
        t0 = time.monotonic()
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, start_timeout_s=0.6,
                        log_dir=str(tmp_path / "logs")), log=said.append).run()
        elapsed = time.monotonic() - t0
        assert srv.device.enables == 0 and srv.device.commands_applied == 0  # type: ignore[attr-defined]
    assert s["fault"] is True
    assert s["stop_reason"].startswith("refused to start: pole angle ")
    assert "outside the task's start envelope ±0.2 rad" in s["stop_reason"]
    assert s["cycles"] == 0
    assert any("waiting up to 0.6 s with torque off: pole angle" in m for m in said), said
    assert elapsed < 5.0  # 0.6 s of waiting, never unbounded
    written = json.loads((tmp_path / "stats.json").read_text())
    assert written["fault"] is True and written["stop_reason"] == s["stop_reason"]
    assert not (tmp_path / "logs").exists() or not any((tmp_path / "logs").iterdir())


def test_operator_sets_the_robot_up_while_it_waits(tmp_path: Path, cartpole_onnx: Path,
                                                  cartpole) -> None:
    said: list[str] = []
    with virtual_controller(cartpole) as srv:
        plant = srv.device.plant
        place(plant, [0.0, 1.0])  # the pole lies down

        def set_up() -> None:
            time.sleep(0.5)
            place(plant, [0.0, 0.0])

        threading.Thread(target=set_up, daemon=True).start()
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, start_timeout_s=10.0,
                        duration=0.3), log=said.append).run()
        assert srv.device.enables == 1  # type: ignore[attr-defined]
    assert not s["fault"] and s["stop_reason"] == "duration", s["stop_reason"]
    assert any("waiting up to 10 s" in m for m in said)
    assert any("in the task's start envelope" in m for m in said)


def test_joint_beyond_its_limit_is_refused_then_a_fault_while_running(
        tmp_path: Path, cartpole_onnx: Path, cartpole) -> None:
    # fall_guard off: the balance rule (|cart| > 2.4) would catch the cart first
    with virtual_controller(cartpole) as srv:
        plant = srv.device.plant
        place(plant, [2.6, 0.0])
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, start_timeout_s=0.2,
                        fall_guard=False)).run()
        assert srv.device.enables == 0  # type: ignore[attr-defined]
        assert s["fault"] and s["stop_reason"].startswith(
            "refused to start: joint slider_to_cart at +2.600 beyond its limits [-2.4, 2.4] "
            "(margin 0.05)"), s["stop_reason"]
        # from the rail's middle the saturated policy drives the cart off its end
        place(plant, [0.0, 0.0])
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, duration=5.0, fall_guard=False,
                        log_dir=str(tmp_path / "logs"))).run()
        assert not srv.device.enabled
        assert_commands_within_limits(plant, cartpole)
    assert s["fault"] and s["stop_reason"].startswith("joint limit: joint slider_to_cart at ")
    assert s["cycles"] < 5 * 60
    ep = read_rollouts(tmp_path / "logs").episodes[0]
    assert ep.end == "safety_trip" and ep.terminal


def test_termination_during_the_policy_is_a_fault_with_a_terminal_log(
        tmp_path: Path, cartpole_onnx: Path) -> None:
    """The pole starts upright (the simulated robot is held until ENABLE); an untrained
    policy lets it fall: the balance task's own rule stops the run."""
    with pybullet_controller("cartpole", hold=True) as srv:
        time.sleep(1.0)  # held: the pole has not moved
        s = Runtime(cfg(cartpole_onnx, srv.url, tmp_path, duration=10.0,
                        log_dir=str(tmp_path / "logs"))).run()
        assert not srv.device.enabled
    assert s["fault"] is True
    assert s["stop_reason"].startswith("task termination (balance): "), s["stop_reason"]
    assert s["cycles"] < 10 * 60
    ep = read_rollouts(tmp_path / "logs").episodes[0]
    assert ep.end == "safety_trip" and ep.terminal
    q = np.asarray(ep["q"])
    assert abs(q[0, 1]) < 0.1, "the pole had fallen before the policy started"
