"""`robot-ppo run` driving `robot-ppo serve --robot servo_arm --protocol feetech` (six emulated
STS3215 servos over the PyBullet servo_arm) through our ServoBus on a real pty: the policy's
targets arrive, scservo_sdk reads back what our bus wrote, and a hardware error, link loss,
Ctrl-C and SIGTERM end in the safe stop. A torque-mode arm on STS3215s is refused before the
port opens."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import pytest
import torch

from deploy.export import export_policy
from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.errors import UserError
from robot_ppo.observation import ObservationBuilder
from robot_ppo.rollout_format import read_rollouts
from robot_ppo.spec import BUILTIN_DIR, RobotSpec, load_spec

from .conftest import served

scs = pytest.importorskip("scservo_sdk")

RATE = 40.0  # the servo_arm's control rate
OFFSET = np.array([0.4, -0.3, 0.3, -0.2, 0.5, 0.3])
"""Joint targets relative to the default pose that the test policy holds (rad)."""
GOAL, TORQUE, MODE, P_GAIN, D_GAIN = 42, 40, 33, 21, 22  # STS3215 control-table addresses


@pytest.fixture(autouse=True)
def _sdk_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's 2 x 16 ms + 2 ms answer budget is too tight on a loaded test machine."""
    monkeypatch.setattr(scs.port_handler, "LATENCY_TIMER", 50)


def _export(spec: RobotSpec, out: Path) -> Path:
    obs_dim = ObservationBuilder(spec).obs_dim
    model = ActorCritic(obs_dim, spec.act_dim, hidden=())
    with torch.no_grad():
        model.mu.weight.zero_()
        model.mu.bias.copy_(torch.tensor(OFFSET, dtype=torch.float32))
    obs = np.random.default_rng(0).uniform(-1.0, 1.0, size=(1000, obs_dim))
    path, _ = export_policy(model.eval(), obs_dim=obs_dim, act_dim=spec.act_dim, spec=spec,
                            action_low=[-1.0] * 6, action_high=[1.0] * 6, out_path=out,
                            parity_obs=obs, env_id=spec.gym_id)
    return path


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deterministic stand-in for a trained reach policy: hold default + OFFSET."""
    return _export(load_spec("servo_arm"), tmp_path_factory.mktemp("ft") / "p.onnx")


def serve(*args: str) -> AbstractContextManager[str]:
    return served("--robot", "servo_arm", "--dynamics", "nominal", "--protocol", "feetech",
                  *args)


def _cfg(policy: Path, url: str, log: Path, **kw: object) -> RunConfig:
    base: dict[str, object] = dict(
        policy=policy, port=url, rate=RATE, duration=1.0, log_dir=str(log), rt_priority=0,
        cpu=-2, standby_s=0.05, damping_s=0.0, rate_margin=50.0, link_timeout_ms=200.0,
        stats_file="", quiet=True, protocol="feetech")
    base.update(kw)
    return RunConfig(**base)  # type: ignore[arg-type]


def _sdk(url: str) -> tuple[object, object]:
    port = scs.PortHandler(url)
    assert port.openPort() and port.setBaudRate(1_000_000)
    return port, scs.PacketHandler(0)


def _ticks(q: np.ndarray) -> np.ndarray:
    return np.rint(q / (2 * np.pi) * 4096 + 2048).astype(int)


def test_policy_targets_arrive_and_the_sdk_reads_back_our_goals(policy: Path,
                                                                tmp_path: Path) -> None:
    spec = load_spec("servo_arm")
    target = np.array([j.default_position for j in spec.joints]) + OFFSET
    with serve("--lockstep", "--no-hold") as url:
        summary = Runtime(_cfg(policy, url, tmp_path / "log")).run()
        assert not summary["fault"], summary["stop_reason"]
        assert summary["final_device"]["disabled_confirmed"]
        q = np.asarray(read_rollouts(tmp_path / "log").episodes[0]["q"])
        assert len(q) >= 0.9 * RATE
        # the arm moved to the policy's targets through the bus, the servos' PD and the plant
        # (gravity sags the shoulder a little under kp 10 N·m/rad)
        assert np.abs(q[-1] - target).max() < 0.1, q[-1] - target
        assert np.abs(q[-1] - q[0]).max() > 0.25
        port, ph = _sdk(url)
        try:
            for i, sid in enumerate(j.motor_id for j in spec.joints):
                raw, res, _ = ph.read2ByteTxRx(port, sid, GOAL)
                assert res == scs.COMM_SUCCESS
                # the last goal our bus wrote: the measured pose (the safe stop's hold),
                # within 0.1 rad of the policy's target; sign-magnitude, never negative here
                assert abs(raw - _ticks(target)[i]) < 70, (sid, raw)
                assert ph.read1ByteTxRx(port, sid, TORQUE)[0] == 0  # torque off after the run
                assert ph.read1ByteTxRx(port, sid, MODE)[0] == 0  # position mode
                # kp 10 / kd 1.5 through the STS3215 gain model
                assert ph.read1ByteTxRx(port, sid, P_GAIN)[0] == 16
                assert ph.read1ByteTxRx(port, sid, D_GAIN)[0] == 32
        finally:
            port.closePort()


def test_hardware_error_ends_in_the_safe_stop(policy: Path, tmp_path: Path) -> None:
    with serve("--servo-fault-after", "0.3") as url:
        summary = Runtime(_cfg(policy, url, tmp_path / "log", duration=3.0)).run()
    assert summary["fault"]
    assert "servo ID 1" in summary["stop_reason"]
    assert "overload" in summary["stop_reason"]


def test_link_loss_ends_in_the_safe_stop(policy: Path, tmp_path: Path) -> None:
    with serve("--stall-after", "150") as url:
        summary = Runtime(_cfg(policy, url, tmp_path / "log", duration=5.0)).run()
    assert summary["fault"] and "link" in summary["stop_reason"].lower()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_turn_every_servo_off(policy: Path, sig: signal.Signals) -> None:
    with serve() as url:
        run = subprocess.Popen(
            [sys.executable, "-m", "robot_ppo.cli", "run", "--policy", str(policy), "--port", url,
             "--protocol", "feetech", "--duration", "0", "--rt-priority", "0", "--cpu", "-2",
             "--standby-s", "0.05", "--stats-file", "", "--rate-margin", "50"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert run.stderr is not None
        for line in run.stderr:
            if "runtime: connected" in line:
                break
        time.sleep(0.5)
        run.send_signal(sig)
        out, err = run.communicate(timeout=20)
        assert run.returncode in (0, 1), err
        assert f"stopping: signal {sig.name}" in err, err
        port, ph = _sdk(url)
        try:
            for sid in range(1, 7):
                torque, res, _ = ph.read1ByteTxRx(port, sid, TORQUE)
                assert res == scs.COMM_SUCCESS and torque == 0, sid
        finally:
            port.closePort()
    assert '"disabled_confirmed": true' in out, out + err


def test_torque_mode_arm_on_sts3215_is_refused_before_the_port_opens(tmp_path: Path) -> None:
    text = (BUILTIN_DIR / "servo_arm.yaml").read_text()
    assert "mode: position" in text
    bad = tmp_path / "servo_arm_torque.yaml"
    bad.write_text(text.replace("mode: position", "mode: torque").replace(
        "urdf: servo_arm.urdf", f"urdf: {BUILTIN_DIR / 'servo_arm.urdf'}"))
    policy = _export(load_spec(bad), tmp_path / "torque.onnx")
    # a port that does not exist: the spec must be refused before it is opened
    with pytest.raises(UserError, match=r"joint shoulder_pan: the STS3215 cannot serve action "
                                        r"mode 'torque' \(it offers position"):
        Runtime(_cfg(policy, "/dev/ttyUSB_none", tmp_path / "l", robot=str(bad))).run()
