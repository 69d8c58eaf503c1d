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


def test_run_from_the_robot_install_drives_the_virtual_robot(robot_venv: Path,
                                                             tmp_path: Path) -> None:
    """The installed runtime, end to end: `robot-ppo serve` (this workstation venv: PyBullet
    behind a pty) ← serial → `robot-ppo run` from the robot-only venv, which ends in the
    safe stop with the motors confirmed disabled."""
    import json
    import signal

    policy = _balancing_onnx(tmp_path)
    serve = subprocess.Popen([sys.executable, "-m", "robot_ppo.cli", "serve", "--robot",
                              "cartpole", "--port", "pty", "--watchdog-ms", "500"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().strip()
        assert url.startswith("/dev/"), url
        run = _run([str(robot_venv / "robot-ppo"), "run", "--policy", str(policy), "--port",
                    url, "--duration", "1.0", "--rt-priority", "0", "--cpu", "-2",
                    "--rate-margin", "20", "--link-timeout-ms", "600"], cwd=tmp_path,
                   timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        summary = json.loads(next(ln for ln in run.stdout.splitlines() if ln.startswith("{")))
        assert summary["stop_reason"] == "duration" and summary["cycles"] >= 20
        assert summary["final_device"]["disabled_confirmed"] is True
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)


def _balancing_onnx(tmp_path: Path) -> Path:
    """The linear balancing controller of the parity test, exported (here, with torch)."""
    import numpy as np

    from deploy.export import export_policy
    from robot_ppo.spec import load_spec

    from .test_parity_sim_serial import balancing_actor

    spec = load_spec("cartpole")
    obs = np.random.default_rng(0).uniform(-3.0, 3.0, size=(1500, 4))
    path, _ = export_policy(balancing_actor(), obs_dim=4, act_dim=1, spec=spec,
                            action_low=[-1.0], action_high=[1.0],
                            out_path=tmp_path / "policy.onnx", parity_obs=obs,
                            env_id=spec.gym_id)
    return path
