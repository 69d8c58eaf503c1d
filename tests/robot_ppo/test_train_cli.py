"""`robot-ppo train` / `plot` as subprocesses: files produced, bad input refused cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

TINY = ["--env", "Pendulum-v1", "--steps", "2048", "--envs", "4", "--rollout-steps", "256",
        "--epochs", "2", "--progress", "false"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "robot_ppo.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_train_writes_run_files_then_resume_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = run("train", *TINY, "--out", str(out), "--hidden", "32,32", "--activation", "elu")
    assert proc.returncode == 0, proc.stderr
    for name in ("config.yaml", "checkpoint.pt", "summary.json", "metrics.csv"):
        assert (out / name).is_file(), name
    assert any((out / "tb").iterdir())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_steps"] == 2048 and summary["env_id"] == "Pendulum-v1"
    assert summary["env_steps_per_s"] > 0 and isinstance(summary["mean_return"], float)
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["model_config"]["hidden"] == [32, 32]
    assert ckpt["config"]["ppo"]["gamma"] == 0.9  # Pendulum preset under the defaults
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"episode_return", "policy_loss", "value_loss", "entropy", "approx_kl",
            "clip_fraction", "explained_variance", "learning_rate", "steps_per_s"} <= set(header)

    resumed = tmp_path / "resumed"
    proc = run("train", *TINY[:2], "--steps", "4096", "--envs", "4", "--rollout-steps", "256",
               "--epochs", "2", "--progress", "false", "--resume", str(out / "checkpoint.pt"),
               "--out", str(resumed), "--set", "gamma=0.95")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((resumed / "summary.json").read_text())["env_steps"] == 4096
    saved = torch.load(resumed / "checkpoint.pt", weights_only=True)["config"]
    assert saved["ppo"]["gamma"] == 0.95

    png = tmp_path / "curves.png"
    proc = run("plot", str(out), "-o", str(png))
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_default_out_dir_is_runs_env_timestamp(tmp_path: Path) -> None:
    proc = run("train", "--env", "Pendulum-v1", "--steps", "512", "--envs", "2",
               "--rollout-steps", "256", "--epochs", "1", "--progress", "false",
               "--tensorboard", "false", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("Pendulum-v1-")
    assert (run_dir / "summary.json").is_file()


@pytest.mark.parametrize(("args", "message"), [
    (["--env", "NoSuchEnv-v0"], "Available: "),
    (["--env", "Pendulum-v1", "--set", "gama=0.9"], "Valid keys: "),
    (["--env", "Pendulum-v1", "--activation", "sigmoid"], "choose one of tanh, elu, relu"),
    (["--env", "Pendulum-v1", "--resume", "/nonexistent/ckpt.pt"], "does not exist"),
    (["--robot", "no_such_robot"], "cartpole"),
    (["--env", "Pendulum-v1", "--robot", "cartpole"], "not both"),
    (["--env", "CartPole-v1"], "Box"),
    (["--robot", "cartpole", "--dynamics", "adr", "--adr-high", "0.3"], "adr_low < adr_high"),
    (["--robot", "cartpole", "--dynamics", "adr", "--adr-sides", "easy"], "both, hard"),
    # options removed with the robustness bench's rejected rows: named, not "unrecognized"
    (["--robot", "cartpole", "--dynamics", "adr", "--adr-corner", "0.25"],
     "--adr-corner was removed (hard-corner ADR episodes)"),
    (["--robot", "cartpole", "--dynamics", "adr", "--adr-anchor=0.25"], "--adr-anchor was removed"),
    (["--robot", "cartpole", "--dynamics", "adr", "--set", "adr_min_reference=0.5"],
     "--adr-min-reference was removed (its value is now fixed at 0.2)"),
    (["--robot", "cartpole", "--dynamics", "adr", "--set", "adr-probe-envs=8"],
     "--adr-probe-envs was removed"),
    (["--robot", "cartpole", "--dynamics", "adr", "--adr-fixed", "motor_strength,mass"],
     "unknown parameter(s) mass; known: mass_scale"),
    (["--robot", "cartpole", "--adr-fixed", "motor_strength"],
     "needs a robot trained with --dynamics adr"),
    (["--robot", "cartpole", "--dynamics", "adr", "--adr-fixed", "mass_scale,gyro_bias_x"],
     "ADR does not move gyro_bias_x on robot 'cartpole'"),
])
def test_bad_input_exit_2_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run("train", *args, "--steps", "256", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_removed_option_in_a_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "old.yaml"
    config.write_text("dynamics: adr\nadr_probe_envs: 8\n")
    proc = run("train", "--robot", "cartpole", "--config", str(config), "--steps", "256",
               "--out", str(tmp_path / "o"))
    assert proc.returncode == 2, proc.stderr
    assert "--adr-probe-envs was removed (mean-action ADR probe envs)" in proc.stderr
    assert "docs/robustness_history.md" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_unwritable_out_and_incompatible_checkpoint(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run("train", *TINY, "--out", str(blocker / "sub"))
    assert proc.returncode == 2 and "cannot write to the output directory" in proc.stderr
    assert "Traceback" not in proc.stderr
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        proc = run("train", *TINY, "--out", str(locked / "run"))
        assert proc.returncode == 2 and "cannot write" in proc.stderr

    bad = tmp_path / "future.pt"
    torch.save({"format": "robot_ppo.checkpoint", "format_version": 99}, bad)
    proc = run("train", *TINY, "--resume", str(bad), "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "format_version 99" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_documents_every_option_with_default() -> None:
    proc = run("train", "--help")
    assert proc.returncode == 0
    for flag in ("--robot", "--env", "--steps", "--envs", "--rollout-steps",
                 "--minibatch-size", "--epochs", "--lr", "--hidden", "--activation", "--seed",
                 "--out", "--resume", "--config", "--set", "--gamma", "--gae-lambda", "--clip",
                 "--ent-coef", "--vf-coef", "--value-clip", "--max-grad-norm", "--kl-mode",
                 "--target-kl", "--reward-scaling", "--std-mode", "--init-std", "--workers",
                 "--torch-threads", "--dynamics", "--progress", "--preset"):
        assert flag in proc.stdout, flag
    assert "(default: 0.99)" in proc.stdout


def test_robot_with_privileged_critic_trains_from_the_cli(tmp_path: Path) -> None:
    pytest.importorskip("sim")
    out = tmp_path / "priv"
    proc = run("train", "--robot", "cartpole", "--privileged", "true", "--steps", "2048",
               "--envs", "2", "--epochs", "1", "--progress", "false", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["model_config"]["critic_obs_dim"] > 0  # the critic got info["privileged"]
    assert ckpt["env_kwargs"]["privileged"] is True


def test_robot_preset_sits_under_the_users_options() -> None:
    from robot_ppo.cli_values import get_value
    from robot_ppo.commands.train import parse
    from robot_ppo.train.config import QUADRUPED_PRESET

    walk = parse(["--robot", "quadruped"])  # the documented walking settings by default
    assert (walk.run.envs, walk.model.hidden, walk.model.activation, walk.run.steps) == (
        16, (128, 128), "elu", 1_800_000)
    assert all(get_value(walk, k) == (tuple(v) if isinstance(v, list) else v)
               for k, v in QUADRUPED_PRESET.items())
    mine = parse(["--robot", "quadruped", "--lr", "3e-4", "--hidden", "64,64"])
    assert (mine.ppo.lr, mine.model.hidden, mine.run.envs) == (3e-4, (64, 64), 16)
    plain = parse(["--robot", "quadruped", "--preset", "none"])
    assert (plain.run.envs, plain.model.hidden) == (8, (64, 64))
