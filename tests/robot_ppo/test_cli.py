"""The `robot-ppo` dispatcher: usage, unknown commands, and missing optional dependencies."""

from __future__ import annotations

import subprocess
import sys


def cli(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_usage_lists_every_command() -> None:
    proc = cli("from robot_ppo.cli import main; raise SystemExit(main(['--help']))")
    assert proc.returncode == 0
    for name in ("demo", "train", "eval", "export", "serve", "run", "finetune", "plot"):
        assert f"  {name}" in proc.stdout


def test_unknown_command_names_the_commands() -> None:
    proc = cli("from robot_ppo.cli import main; raise SystemExit(main(['trian']))")
    assert proc.returncode == 2
    assert "unknown command 'trian'" in proc.stderr and "train" in proc.stderr


def test_missing_training_dependency_names_the_extra() -> None:
    # Simulate the robot-only install: onnx (export's dependency) cannot be imported.
    proc = cli("import sys; sys.modules['onnx'] = None\n"
               "from robot_ppo.cli import main; raise SystemExit(main(['export', 'x.pt']))")
    assert proc.returncode == 2
    assert "needs the Python package 'onnx'" in proc.stderr
    assert "robot_ppo[train]" in proc.stderr
    assert "Traceback" not in proc.stderr
