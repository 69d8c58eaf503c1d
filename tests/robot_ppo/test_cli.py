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
    # robot_ppo is not on PyPI: `pip install robot_ppo[train]` would fail
    assert "pip install '.[train]'" in proc.stderr and "'robot_ppo[train]'" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_without_the_training_install_names_the_extra() -> None:
    # The robot-only install: no torch. --help still prints, exit 0, and says what to install.
    proc = cli("import sys; sys.modules['torch'] = None\n"
               "from robot_ppo.cli import main; raise SystemExit(main(['finetune', '--help']))")
    assert proc.returncode == 0, proc.stderr
    assert "usage: robot-ppo finetune" in proc.stdout and "--kl-bound" in proc.stdout
    assert "needs torch" in proc.stdout and "pip install '.[train]'" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_help_with_everything_installed_adds_no_note() -> None:
    proc = cli("from robot_ppo.cli import main; raise SystemExit(main(['finetune', '--help']))")
    assert proc.returncode == 0 and "usage: robot-ppo finetune" in proc.stdout
    assert "note:" not in proc.stdout
