"""The commands end to end, as subprocesses: export → serve → run → safe stop; SIGINT;
the runtime process never imports torch or PyBullet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robot_ppo.cli import main as cli_main

from .controller import virtual_controller

RUN_WRAPPER = (
    "import sys\n"
    "from robot_ppo.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "heavy = sorted(m for m in ('torch', 'pybullet', 'sim', 'gymnasium') if m in sys.modules)\n"
    "print('HEAVY_MODULES=' + ','.join(heavy), flush=True)\n"
    "sys.exit(rc)\n"
)
FAST = ["--rt-priority", "0", "--cpu", "-2", "--standby-s", "0.1", "--damping-s", "0.2",
        "--rate-margin", "20", "--link-timeout-ms", "600"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _summary(stdout: str) -> dict:
    line = next(ln for ln in stdout.splitlines() if ln.startswith("{"))
    return json.loads(line)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from robot_ppo.spec import load_spec
    from robot_ppo.train.checkpoint import save_checkpoint

    from .test_parity_sim_serial import balancing_actor
    spec = load_spec("cartpole")
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    # a policy that balances: the runtime stops any run in which the pole falls
    save_checkpoint(path, model=balancing_actor(), optimizer=None,
                    config={"note": "test"}, env_id=spec.gym_id, spec=spec.to_dict(),
                    spec_hash=spec.spec_hash, action_low=[-1.0], action_high=[1.0],
                    env_steps=0, iteration=0)
    return path


def test_export_command_writes_checked_file(checkpoint: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.onnx"
    assert cli_main(["export", str(checkpoint), "-o", str(out), "--no-sim", "true"]) == 0
    assert out.is_file()
    assert "parity over 2000 observations" in capsys.readouterr().out
    # a missing checkpoint is a clean user error (exit 2) and writes nothing
    assert cli_main(["export", str(tmp_path / "nope.pt"), "-o", str(tmp_path / "x.onnx")]) == 2
    assert not (tmp_path / "x.onnx").exists()


def test_export_serve_run_safe_stop(checkpoint: Path, tmp_path: Path) -> None:
    """The default-suite end-to-end test: export (recorded obs from the simulator) →
    `robot-ppo serve` (PyBullet plant on a pty) → `robot-ppo run` → safe stop."""
    onnx_path = tmp_path / "policy.onnx"
    assert cli_main(["export", str(checkpoint), "-o", str(onnx_path),
                     "--recorded-steps", "300"]) == 0
    serve = subprocess.Popen([sys.executable, "-m", "robot_ppo.cli", "serve", "--robot",
                              "cartpole", "--port", "pty", "--watchdog-ms", "500"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env())
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().strip()
        assert url.startswith("/dev/"), url
        run = subprocess.run([sys.executable, "-c", RUN_WRAPPER, "run", "--policy",
                              str(onnx_path), "--port", url, "--duration", "1.0",
                              "--stats-file", str(tmp_path / "stats.json"), *FAST],
                             capture_output=True, text=True, timeout=60, env=_env())
        assert run.returncode == 0, run.stderr
        s = _summary(run.stdout)
        assert s["stop_reason"] == "duration" and s["cycles"] >= 20
        assert s["final_device"]["disabled_confirmed"] is True
        assert "ENABLED" not in s["final_device"]["flags"]
        assert json.loads((tmp_path / "stats.json").read_text())["cycles"] == s["cycles"]
        assert "HEAVY_MODULES=\n" in run.stdout or run.stdout.rstrip().endswith(
            "HEAVY_MODULES="), "the runtime imported torch/pybullet/sim/gymnasium"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)


def test_sigint_stops_run_and_motors_end_disabled(tmp_path: Path, cartpole_onnx: Path,
                                                  cartpole) -> None:
    with virtual_controller(cartpole) as srv:
        proc = subprocess.Popen([sys.executable, "-c", RUN_WRAPPER, "run", "--policy",
                                 str(cartpole_onnx), "--port", srv.url, "--duration", "30",
                                 "--stats-file", str(tmp_path / "stats.json"),
                                 *FAST], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=_env())
        # wait until the policy is driving the motors
        deadline = time.monotonic() + 30
        while not srv.device.enabled or srv.device.commands_applied < 10:
            assert time.monotonic() < deadline, "the runtime never started the policy"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert time.monotonic() - t0 < 5.0
        assert proc.returncode == 0, err
        assert not srv.device.enabled
        modes = [int(c.mode[0]) for c in srv.device.plant.commands[-30:]]
    s = _summary(out)
    assert s["stop_reason"] == "signal SIGINT"
    assert s["final_device"]["disabled_confirmed"] is True
    assert 2 in modes, "the safe stop sends damping before disabling"
    assert out.rstrip().endswith("HEAVY_MODULES=")


def test_run_bad_policy_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    proc = subprocess.run([sys.executable, "-m", "robot_ppo.cli", "run", "--policy", str(bad),
                           "--port", "/dev/null"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "not a valid ONNX model" in proc.stderr and "Traceback" not in proc.stderr
