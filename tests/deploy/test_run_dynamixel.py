"""`robot-ppo run` driving `robot-ppo serve --protocol dynamixel` (the servo emulator over the
PyBullet cartpole) through our ServoBus on a real pty: it balances as on our own protocol,
the dynamixel_sdk reads back what our bus wrote, and hardware errors, link loss and SIGTERM
end in the safe stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import pytest

from deploy.export import export_policy
from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.errors import UserError
from robot_ppo.rollout_format import read_rollouts
from robot_ppo.spec import BUILTIN_DIR, load_spec

from .conftest import served
from .test_parity_sim_serial import balancing_actor

sdk = pytest.importorskip("dynamixel_sdk")


@pytest.fixture(autouse=True)
def _sdk_patience(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK waits 2 × its LATENCY_TIMER (16 ms) + 2 ms for an answer; on a loaded test
    machine the emulator (sharing this process's GIL, or a busy CPU) can miss that, so the
    tests give it 100 ms, as LeRobot patches the same timeout for real adapters."""
    monkeypatch.setattr(sdk.port_handler, "LATENCY_TIMER", 100)

SEED = 3
STEPS = 120
RATE = 60.0  # the cartpole spec's control rate


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The parity test's linear balancing controller, exported for the cartpole."""
    spec = load_spec("cartpole")
    obs = np.random.default_rng(0).uniform(-3.0, 3.0, size=(1000, 4))
    path, _ = export_policy(balancing_actor(), obs_dim=4, act_dim=1, spec=spec,
                            action_low=[-1.0], action_high=[1.0],
                            out_path=tmp_path_factory.mktemp("dxl") / "p.onnx",
                            parity_obs=obs, env_id=spec.gym_id)
    return path


def serve(*args: str) -> AbstractContextManager[str]:
    return served("--robot", "cartpole", "--dynamics", "nominal", "--seed", str(SEED), *args)


def _cfg(policy: Path, url: str, log: Path, **kw: object) -> RunConfig:
    base: dict[str, object] = dict(
        policy=policy, port=url, rate=RATE, duration=STEPS / RATE, log_dir=str(log),
        torque_rate_limit=20.0, rt_priority=0, cpu=-2, standby_s=0.05, damping_s=0.1,
        rate_margin=50.0, link_timeout_ms=200.0, stats_file="", quiet=True)
    base.update(kw)
    return RunConfig(**base)  # type: ignore[arg-type]


def _pole(log: Path) -> np.ndarray:
    return np.asarray(read_rollouts(log).episodes[0]["q"])[:, 1]


def test_cartpole_balances_over_dynamixel_as_over_robot_ppo(
        policy: Path, tmp_path: Path) -> None:
    poles = {}
    for protocol in ("robot_ppo", "dynamixel"):
        log = tmp_path / protocol
        with serve("--lockstep", "--protocol", protocol, "--watchdog-ms", "0") as url:
            summary = Runtime(_cfg(policy, url, log, protocol=protocol)).run()
        assert not summary["fault"], (protocol, summary["stop_reason"])
        poles[protocol] = _pole(log)
    own, dxl = poles["robot_ppo"], poles["dynamixel"]
    n = min(len(own), len(dxl))
    assert n >= STEPS * 0.9
    assert np.abs(dxl).max() < 0.2  # within the task's fall angle all the way
    assert np.abs(own[:n]).max() > 1e-3  # the pole did move
    # same trajectory up to the servo's quantisation (4096 ticks/turn, 2.69 mA)
    assert np.abs(own[:n] - dxl[:n]).max() < 0.02


def test_sdk_reads_back_the_goals_our_bus_wrote(policy: Path, tmp_path: Path) -> None:
    with serve("--lockstep", "--protocol", "dynamixel", "--no-hold") as url:
        summary = Runtime(_cfg(policy, url, tmp_path / "log", protocol="dynamixel",
                               duration=0.3, damping_s=0.0)).run()
        assert summary["final_device"]["disabled_confirmed"]
        port = sdk.PortHandler(url)
        assert port.openPort()
        ph = sdk.PacketHandler(2.0)
        try:
            assert ph.read1ByteTxRx(port, 1, 11)[:2] == (0, sdk.COMM_SUCCESS)  # current mode
            assert ph.read1ByteTxRx(port, 1, 64)[0] == 0  # torque off after the run
            assert ph.read1ByteTxRx(port, 1, 98)[0] > 0  # the bus watchdog was armed
            goal = ph.read2ByteTxRx(port, 1, 102)[0]
            goal = goal - 65536 if goal >= 32768 else goal
            assert goal != 0  # a non-zero effort was commanded and kept
            pole_mode = ph.read1ByteTxRx(port, 2, 11)[0]
            assert pole_mode == 3  # sensed-only servo: left in its power-up mode, never torqued
        finally:
            port.closePort()


def test_hardware_error_ends_in_the_safe_stop(policy: Path, tmp_path: Path) -> None:
    with serve("--protocol", "dynamixel", "--servo-fault-after", "0.5") as url:
        summary = Runtime(_cfg(policy, url, tmp_path / "log", protocol="dynamixel",
                               duration=3.0)).run()
    assert summary["fault"]
    assert "servo ID 1" in summary["stop_reason"] and "overload" in summary["stop_reason"]


def test_link_loss_ends_in_the_safe_stop(policy: Path, tmp_path: Path) -> None:
    with serve("--protocol", "dynamixel", "--stall-after", "200") as url:
        summary = Runtime(_cfg(policy, url, tmp_path / "log", protocol="dynamixel",
                               duration=5.0)).run()
    assert summary["fault"] and "link" in summary["stop_reason"].lower()


def test_missing_servo_names_id_and_baud(policy: Path, tmp_path: Path) -> None:
    text = (BUILTIN_DIR / "cartpole.yaml").read_text()
    seven = tmp_path / "seven.yaml"  # the cart's servo set to an ID the bus does not have
    seven.write_text(text.replace("motor_id: 1", "motor_id: 7"))
    with serve("--protocol", "dynamixel") as url, pytest.raises(
            UserError, match="servo ID 7 did not answer a ping at 1000000 baud"):
        Runtime(_cfg(policy, url, tmp_path / "l", robot=str(seven),
                     protocol="dynamixel", allow_spec_mismatch=True)).run()


def test_bad_spec_refused_before_the_port_opens(policy: Path, tmp_path: Path) -> None:
    text = (BUILTIN_DIR / "cartpole.yaml").read_text()
    cases = {
        "joints:\n    slider_to_cart: {model: XM999}": r"bus\.joints\.slider_to_cart\.model: "
        r"unknown dynamixel model 'XM999'; known models: XL330-M288, XL430-W250, XM430-W210",
        "joints:\n    slider_to_cart: {model: XL430-W250}": "no current-control operating mode",
        "joints:\n    slider_to_cart: {gear_ratio: 1000}": r"bus\.joints\.slider_to_cart: the "
        "calibration maps the joint limit",
    }
    for i, (bus, needle) in enumerate(cases.items()):
        bad = tmp_path / f"bad{i}.yaml"
        bad.write_text(text + "bus:\n  protocol: dynamixel\n  " + bus + "\n")
        # a port that does not exist: the spec must be refused before it is opened
        with pytest.raises(UserError, match=needle):
            Runtime(_cfg(policy, "/dev/ttyUSB_none", tmp_path / "l", robot=str(bad),
                         allow_spec_mismatch=True)).run()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_turn_every_servo_off(policy: Path, tmp_path: Path,
                                                 sig: signal.Signals) -> None:
    with serve("--protocol", "dynamixel") as url:
        run = subprocess.Popen(
            [sys.executable, "-m", "robot_ppo.cli", "run", "--policy", str(policy), "--port", url,
             "--protocol", "dynamixel", "--duration", "0", "--rt-priority", "0", "--cpu", "-2",
             "--standby-s", "0.05", "--stats-file", "", "--rate-margin", "50"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert run.stderr is not None
        for line in run.stderr:  # connected: standby, then the policy loop within ~1 s
            if "runtime: connected" in line:
                break
        time.sleep(1.0)
        run.send_signal(sig)
        out, err = run.communicate(timeout=20)
        assert run.returncode in (0, 1), err
        assert f"stopping: signal {sig.name}" in err, err
        port = sdk.PortHandler(url)
        assert port.openPort()
        try:
            ph = sdk.PacketHandler(2.0)
            torque, res, _ = ph.read1ByteTxRx(port, 1, 64)
            assert res == sdk.COMM_SUCCESS and torque == 0
        finally:
            port.closePort()
    assert '"disabled_confirmed": true' in out, out + err
