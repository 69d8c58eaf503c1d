"""The robot-only install, as the README gives it: a wheel built from the repository, installed
with only the `[robot]` extra into a fresh virtual environment (no torch, no PyBullet).

Real pip, a real venv, the installed `robot-ppo` console script. Runs from a copy of the
sources so that the build's `build/` and egg-info never touch the working tree.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "robot_ppo", "sim", "deploy", "firmware_bridge")


def _run(argv: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


@pytest.fixture(scope="module")
def robot_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv holding the wheel with its [robot] extra only."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("building the wheel without build isolation needs setuptools here")
    tmp = tmp_path_factory.mktemp("robot_install")
    src = tmp / "src"
    src.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "*.onnx")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=junk)
        else:
            shutil.copy2(path, src / name)
    # the README's workstation step; --no-build-isolation reuses this venv's setuptools
    # instead of fetching one (what `python -m build` would do) to keep the test fast
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "-w", str(tmp / "dist"), str(src)], cwd=tmp)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("robot_ppo-*.whl")
    venv.create(tmp / "venv", with_pip=True)
    bin_dir = tmp / "venv" / "bin"
    # the robot computer's step: the copied wheel with the [robot] extra
    installed = _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
                      f"{wheel}[robot]"], cwd=tmp)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return bin_dir


def test_robot_install_has_no_torch_nor_pybullet(robot_venv: Path, tmp_path: Path) -> None:
    probe = _run([str(robot_venv / "python"), "-c",
                  "import importlib.util as u\n"
                  "print([m for m in ('torch', 'pybullet', 'gymnasium', 'matplotlib') "
                  "if u.find_spec(m)], [m for m in ('onnxruntime', 'serial', 'robot_ppo', "
                  "'deploy', 'firmware_bridge') if u.find_spec(m) is None])"], cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[] []"


def test_run_help_works(robot_venv: Path, tmp_path: Path) -> None:
    proc = _run([str(robot_venv / "robot-ppo"), "run", "--help"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "usage: robot-ppo run" in proc.stdout and "--policy" in proc.stdout


@pytest.mark.parametrize("command, required", [("train", "--steps"),
                                               ("finetune", "--rollouts")])
def test_training_commands_print_help_and_name_the_extra(robot_venv: Path, tmp_path: Path,
                                                         command: str, required: str) -> None:
    proc = _run([str(robot_venv / "robot-ppo"), command, "--help"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"usage: robot-ppo {command}" in proc.stdout and required in proc.stdout
    note = proc.stdout + proc.stderr
    assert "needs torch" in note and "pip install '.[train]'" in note
    assert "Traceback" not in note


@pytest.mark.parametrize("argv", [["train", "--robot", "cartpole", "--steps", "10"],
                                  ["finetune", "--checkpoint", "ck.pt", "--rollouts", "logs"]])
def test_training_commands_run_for_real_name_the_extra(robot_venv: Path, tmp_path: Path,
                                                       argv: list[str]) -> None:
    proc = _run([str(robot_venv / "robot-ppo"), *argv], cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    # robot_ppo is not on PyPI: the hint installs from the clone (or the wheel)
    assert "pip install '.[train]'" in proc.stderr and "robot_ppo[train]'" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing created before the refusal
