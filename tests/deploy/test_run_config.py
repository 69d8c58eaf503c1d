"""Every option of `robot-ppo run` is range-checked before the policy is loaded or a port
opened: one line naming the option and what it accepts, exit 2, at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.cli import main as cli_main
from robot_ppo.errors import UserError

BAD = [
    ("duration", -3.0, "--duration -3.0: must be >= 0"),
    ("duration", float("nan"), "--duration nan: must be a finite number"),
    ("rate", -5.0, "--rate -5.0: must be > 0 Hz"),
    ("rate", 1.0, "the period (1000 ms) must be at most half the link timeout"),
    ("rate", 100000.0, "at most 10000 Hz"),
    ("ramp_s", -1.0, "--ramp-s -1.0: must be >= 0"),
    ("start_timeout_s", float("inf"), "--start-timeout-s inf: must be a finite number"),
    ("link_timeout_ms", 0.0, "--link-timeout-ms 0.0: must be > 0"),
    ("connect_timeout_s", -1.0, "--connect-timeout-s -1.0: must be > 0"),
    ("rate_margin", 0.0, "--rate-margin 0.0: must be > 0"),
    ("nan_hold_cycles", -1, "--nan-hold-cycles -1: must be >= 0"),
    ("explore", -0.5, "--explore -0.5: must be >= 0"),
    ("seed", -1, "--seed -1: must be >= 0"),
    ("position_rate_limit", 0.0, "--position-rate-limit 0.0: must be > 0"),
    ("rt_priority", 120, "--rt-priority 120: must be in 0..99"),
    ("cpu", -3, "--cpu -3: must be a CPU number"),
    ("baudrate", 0, "--baudrate 0: must be > 0"),
    ("joint_limit_margin", -0.1, "--joint-limit-margin -0.1: must be >= 0"),
    ("stats_file", "/nonexistent-dir/stats.json", "must be a file in an existing directory"),
    ("stats_file", "/tmp", "must be a file in an existing directory"),
    ("log_dir", "/etc/hostname", "must be a directory"),
]


@pytest.fixture()
def listening_pty() -> object:
    """A pty nobody answers on: an error that names it would mean it was opened."""
    master, slave = os.openpty()
    yield os.ttyname(slave), master
    os.close(master)
    os.close(slave)


@pytest.mark.parametrize(("option", "value", "message"), BAD)
def test_bad_option_refused_before_the_port_is_opened(
        option: str, value: object, message: str, cartpole_onnx: Path, tmp_path: Path,
        listening_pty: tuple[str, int]) -> None:
    url, master = listening_pty
    kw: dict[str, object] = {"stats_file": str(tmp_path / "s.json"), option: value}
    cfg = RunConfig(policy=cartpole_onnx, port=url, quiet=True, **kw)  # type: ignore[arg-type]
    t0 = time.monotonic()
    with pytest.raises(UserError) as exc:
        Runtime(cfg).run()
    text = str(exc.value)
    assert message in text and text.startswith("--" + option.replace("_", "-")), text
    assert "\n" not in text
    assert time.monotonic() - t0 < 1.0
    os.set_blocking(master, False)
    with pytest.raises(BlockingIOError):
        os.read(master, 64)  # no handshake was sent
    assert not (tmp_path / "s.json").exists()


def test_cli_reports_bad_options_in_one_line(cartpole_onnx: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["run", "--policy", str(cartpole_onnx), "--port", "/dev/ttyNOPE9",
                   "--duration", "-3"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "--duration -3.0: must be >= 0" in err and "Traceback" not in err
    assert "ttyNOPE9" not in err  # refused before the port was looked at


def test_missing_policy_file_is_a_clear_error(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["run", "--policy", str(tmp_path / "nope.onnx"), "--port", "/dev/ttyNOPE9"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "the policy file does not exist" in err and "robot-ppo export" in err
    assert "Traceback" not in err
