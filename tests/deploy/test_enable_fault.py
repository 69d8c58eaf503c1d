"""A lost reply to ENABLE is a link fault like any other: safe stop, statistics written with
fault true and a stop reason naming it, exit 1, no traceback (real device logic on a pty,
which stops answering exactly at the ENABLE)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from firmware_bridge import FaultConfig
from firmware_bridge.framing import Frame
from firmware_bridge.layouts import MsgType
from robot_ppo.cli import main as cli_main

from .controller import CountingDevice, virtual_controller
from .test_cli import FAST

# replies before ENABLE: the HELLO reply and standby's reads (10: 0.1 s at 60 Hz, at least 10)
REPLIES_BEFORE_ENABLE = 1 + 10


def test_lost_enable_reply_is_a_reported_link_fault(tmp_path: Path, cartpole_onnx: Path,
                                                    cartpole,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    stats = tmp_path / "stats.json"
    with virtual_controller(cartpole, faults=FaultConfig(stall_after=REPLIES_BEFORE_ENABLE),
                            watchdog_s=0.2) as srv:
        rc = cli_main(["run", "--policy", str(cartpole_onnx), "--port", srv.url,
                       "--stats-file", str(stats), "--duration", "2", *FAST,
                       "--link-timeout-ms", "100"])
        # whether the ENABLE got through or not, the motors end disabled (the host's safe
        # stop, or the device's own watchdog when nothing the host sends is answered)
        time.sleep(0.4)
        assert not srv.device.enabled and srv.device.commands_applied == 0
    out, err = capsys.readouterr()
    assert rc == 1
    assert "Traceback" not in err and "BusTimeout" not in err
    s = json.loads(stats.read_text())
    assert s["fault"] is True
    assert s["stop_reason"].startswith("link: no reply to ENABLE"), s["stop_reason"]
    assert s["cycles"] == 0 and s["bus_timeouts"] >= 1
    assert json.loads(next(ln for ln in out.splitlines() if ln.startswith("{")))["fault"]


class RefusingDevice(CountingDevice):
    """Answers ENABLE with its state but stays disabled (a controller with a fault that an
    enable cannot clear)."""

    def handle(self, frame: Frame, now: float, step_on_command: bool = False) -> bytes:
        if frame.msg_type == MsgType.ENABLE:
            self.enables += 1
            return self._state(frame.seq)
        return super().handle(frame, now, step_on_command)


def test_refused_enable_is_a_reported_fault(tmp_path: Path, cartpole_onnx: Path, cartpole,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    stats = tmp_path / "stats.json"
    with virtual_controller(cartpole, device_cls=RefusingDevice) as srv:
        rc = cli_main(["run", "--policy", str(cartpole_onnx), "--port", srv.url,
                       "--stats-file", str(stats), "--duration", "2", *FAST])
        assert srv.device.enables == 1 and srv.device.commands_applied == 0  # type: ignore[attr-defined]
    assert rc == 1 and "Traceback" not in capsys.readouterr().err
    s = json.loads(stats.read_text())
    assert s["fault"] is True and s["cycles"] == 0
    assert s["stop_reason"].startswith("the controller refused to enable: "), s["stop_reason"]
