"""A fall seen by the IMU (the walk task's termination rule) stops the runtime into damping,
then disables the motors: real
PyBullet quadruped behind `robot-ppo serve` (lock-step) on a pty, toppled by gravity tilted
1.2 rad sideways. With the guard off (and a wide joint-limit margin) the same run goes on to
its duration, lying down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.posture import TiltLimits
from robot_ppo.spec import load_spec

from .conftest import export_for, served


@pytest.fixture(scope="module")
def quadruped_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_for(load_spec("quadruped"), tmp_path_factory.mktemp("q") / "q.onnx", gain=1.0)


def run_toppled(policy: Path, tmp: Path, fall_guard: bool,
                joint_limit_margin: float = 0.05, device: str = "python") -> dict[str, Any]:
    tilt = tmp / "tilt.yaml"
    tilt.write_text(yaml.safe_dump({"base": "nominal", "ranges": {"gravity_tilt_x": [1.2, 1.2]}}))
    with served("--robot", "quadruped", "--lockstep", "--dynamics", str(tilt), "--latency-ms",
                "0", "--watchdog-ms", "0", "--device", device) as url:
        # lock-step at 200 Hz: 4 simulated seconds per wall second; the robot is over
        # within ~1.3 simulated seconds
        cfg = RunConfig(policy=policy, port=url, rate=200.0, duration=1.5, ramp_s=0.5,
                        fall_guard=fall_guard, joint_limit_margin=joint_limit_margin,
                        rt_priority=0, cpu=-2, standby_s=0.05,
                        damping_s=0.1, rate_margin=50.0, link_timeout_ms=1000.0,
                        stats_file="", quiet=True)
        return Runtime(cfg).run()


@pytest.mark.parametrize("device", ["python", "c"])  # c: serve --device c, the C core
def test_fall_stops_into_damping_then_disables(quadruped_onnx: Path, tmp_path: Path,
                                               device: str) -> None:
    s = run_toppled(quadruped_onnx, tmp_path, fall_guard=True, device=device)
    assert s["fault"] and s["stop_reason"].startswith("task termination (walk): "), \
        s["stop_reason"]
    limits = TiltLimits.of(load_spec("quadruped"))  # the walk task's own termination rule
    assert limits is not None and f"rad beyond ±{limits.max_roll:g}" in s["stop_reason"]
    assert s["final_device"]["disabled_confirmed"] is True
    # stopped well before the 0.5 s ramp + 1.5 s of policy (300+ cycles at 200 Hz)
    assert s["cycles"] < 250


def test_without_the_guard_the_run_goes_on(quadruped_onnx: Path, tmp_path: Path) -> None:
    # lying on its side the robot bends a hip past its limit, which stops any run (a joint
    # limit is no task rule): a wide margin lets this one show the tilt rule is off
    s = run_toppled(quadruped_onnx, tmp_path, fall_guard=False, joint_limit_margin=10.0)
    assert not s["fault"] and s["stop_reason"] == "duration", s["stop_reason"]
