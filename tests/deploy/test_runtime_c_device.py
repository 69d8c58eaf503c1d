"""The runtime's end-to-end and fault tests (test_runtime.py, test_enable_fault.py,
test_start_envelope.py) again, unchanged, with the C
firmware core (firmware_bridge/firmware/, through firmware_bridge.c_device) deciding every
reply, limit and watchdog trip and decoding every byte on the device side."""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware_bridge.c_device import CDevice, CFrameDecoder
from firmware_bridge.codec import CommandCodec
from firmware_bridge.framing import Frame
from firmware_bridge.layouts import MsgType
from firmware_bridge.messages import JointCommand
from firmware_bridge.server import DeviceServer

from . import controller
from . import test_enable_fault as _enable_fault_tests
from . import test_runtime as _runtime_tests
from . import test_start_envelope as _start_envelope_tests


class CountingCDevice(CDevice):
    """CDevice with controller.CountingDevice's records: ENABLE requests handled, and every
    command the host sent that the (C) device applied, as received (before its limits)."""

    enables = 0

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.host_commands: list[JointCommand] = []
        self._codec = CommandCodec(self.config.motor_count)

    def handle(self, frame: Frame, now: float, step_on_command: bool = False) -> bytes:
        if frame.msg_type == MsgType.ENABLE:
            self.enables += 1
        applied = self.commands_applied
        reply = super().handle(frame, now, step_on_command)
        if self.commands_applied != applied:
            self.host_commands.append(self._codec.decode(frame.payload))
        return reply


def _c_server(device: object, transport: object, **kw: object) -> DeviceServer:
    server = DeviceServer(device, transport, **kw)  # type: ignore[arg-type]
    server.decoder = CFrameDecoder()  # type: ignore[assignment]
    return server


@pytest.fixture(autouse=True)
def _c_device(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """virtual_controller builds CDevice + the C decoder instead of device.py's."""
    monkeypatch.setattr(controller, "Device", CountingCDevice)
    if hasattr(controller, "CountingDevice"):
        monkeypatch.setattr(controller, "CountingDevice", CountingCDevice)
    monkeypatch.setattr(controller, "DeviceServer", _c_server)
    yield


# Every test of test_runtime.py, test_enable_fault.py and test_start_envelope.py that talks to
# a virtual or PyBullet controller runs here as well, except those that bring a Python device
# of their own (device_cls=...: a device that misbehaves on purpose, a fake by design).
for _module in (_runtime_tests, _enable_fault_tests, _start_envelope_tests):
    for _name, _fn in list(vars(_module).items()):
        if not _name.startswith("test_") or not callable(_fn):
            continue
        _source = inspect.getsource(_fn)
        if (("virtual_controller(" in _source or "pybullet_controller(" in _source)
                and "device_cls=" not in _source):
            assert _name not in globals(), f"two tests named {_name}"
            globals()[_name] = _fn


def test_the_c_core_is_really_serving() -> None:
    from robot_ppo.spec import load_spec

    with controller.virtual_controller(load_spec("cartpole")) as srv:
        assert isinstance(srv.device, CDevice)
        assert isinstance(srv.decoder, CFrameDecoder)


def test_run_drives_serve_device_c_at_the_spec_rate(tmp_path: Path) -> None:
    """Issue 27's end to end: `robot-ppo run` with a balancing cartpole policy against
    `robot-ppo serve --device c` (PyBullet plant, the C core deciding) ends in a safe stop."""
    from robot_ppo.cli import main as cli_main
    from robot_ppo.spec import load_spec
    from robot_ppo.train.checkpoint import save_checkpoint

    from .test_parity_sim_serial import balancing_actor

    spec = load_spec("cartpole")
    ckpt, onnx_path = tmp_path / "checkpoint.pt", tmp_path / "policy.onnx"
    save_checkpoint(ckpt, model=balancing_actor(), optimizer=None, config={"note": "test"},
                    env_id=spec.gym_id, spec=spec.to_dict(), spec_hash=spec.spec_hash,
                    action_low=[-1.0], action_high=[1.0], env_steps=0, iteration=0)  # fmt: skip
    assert cli_main(["export", str(ckpt), "-o", str(onnx_path), "--no-sim", "true"]) == 0
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    serve = subprocess.Popen([sys.executable, "-m", "robot_ppo.cli", "serve", "--robot",
                              "cartpole", "--port", "pty", "--watchdog-ms", "500",
                              "--device", "c"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)  # fmt: skip
    try:
        assert serve.stdout is not None and serve.stderr is not None
        url = serve.stdout.readline().strip()
        assert url.startswith("/dev/"), serve.communicate(timeout=10)
        assert "c device" in serve.stderr.readline()
        run = subprocess.run([sys.executable, "-m", "robot_ppo.cli", "run", "--policy",
                              str(onnx_path), "--port", url, "--duration", "2.0",
                              "--stats-file", str(tmp_path / "stats.json"), *FAST_CLI],
                             capture_output=True, text=True, timeout=90, env=env)  # fmt: skip
        assert run.returncode == 0, run.stderr
        s = json.loads(next(ln for ln in run.stdout.splitlines() if ln.startswith("{")))
        assert s["stop_reason"] == "duration" and not s["fault"], s
        # 60 Hz spec rate (the machine is shared and loaded: a little below is tolerated)
        assert 50 <= s["achieved_rate_hz"] <= 61 and s["cycles"] >= 100, s
        assert s["final_device"]["disabled_confirmed"] is True
        assert "ENABLED" not in s["final_device"]["flags"]
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)


FAST_CLI = ["--rt-priority", "0", "--cpu", "-2", "--standby-s", "0.1", "--damping-s", "0.2",
            "--rate-margin", "20", "--link-timeout-ms", "600"]  # fmt: skip
