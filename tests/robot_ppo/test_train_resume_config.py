"""`robot-ppo train --resume` continues the checkpoint's run settings; options given now
override them, except the model's shape (robot_ppo/train/resume_config.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from robot_ppo.train.resume_config import RUN_LOCAL, inherited
from robot_ppo.train.saved_config import saved_options

SMALL = ["--envs", "2", "--rollout-steps", "128", "--epochs", "1", "--workers", "0",
         "--tensorboard", "false", "--progress", "false"]


def train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "robot_ppo.cli", "train", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("resume_config") / "first"
    proc = train("--robot", "cartpole", "--dynamics", "adr", "--adr-sides", "hard",
                 "--adr-fixed", "mass_scale,gravity_tilt_y", "--lr", "0.0005", "--seed", "3",
                 "--steps", "256", "--out", str(run), *SMALL)
    assert proc.returncode == 0, proc.stderr
    return run / "checkpoint.pt"


def saved_config(run: Path) -> dict[str, object]:
    config = saved_options(torch.load(run / "checkpoint.pt", weights_only=True)["config"])
    assert isinstance(config, dict)
    return config


def test_resume_without_options_keeps_the_runs_adr_settings(first: Path, tmp_path: Path
                                                            ) -> None:
    # no --robot, --dynamics or --adr-*: a resume that fell back to the defaults would train
    # plain DR, and one without --adr-fixed would let those parameters widen
    proc = train("--resume", str(first), "--steps", "512", "--out", str(tmp_path / "b"),
                 "--envs", "2", "--workers", "0", "--tensorboard", "false", "--progress",
                 "false")
    assert proc.returncode == 0, proc.stderr
    config = saved_config(tmp_path / "b")
    assert config["robot"] == "cartpole" and config["dynamics"] == "adr"
    assert config["adr_sides"] == "hard"
    assert list(config["adr_fixed"]) == ["mass_scale", "gravity_tilt_y"]  # type: ignore[call-overload]
    assert config["lr"] == 0.0005 and config["seed"] == 3
    assert config["steps"] == 512  # run-local: this command's, not the checkpoint's 256
    assert "continuing the checkpoint's settings" in proc.stderr
    assert "adr_fixed=mass_scale,gravity_tilt_y" in proc.stderr
    ckpt = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    ranges = ckpt["env_state"]["ranges"]
    first_ranges = torch.load(first, weights_only=True)["env_state"]["ranges"]
    assert ranges["mass_scale"] == first_ranges["mass_scale"]  # fixed: never moved
    # and never judged, while this run did judge other boundaries (so the check above is
    # not vacuous: ADR ran in the resumed run)
    queues = ckpt["env_state"]["queues"]
    for fixed in ("mass_scale", "gravity_tilt_y"):
        assert queues[fixed] == {"lo": [], "hi": []}
    assert any(q["lo"] or q["hi"] for q in queues.values())
    assert len(ckpt["env_state"]["reference"]) > len(
        torch.load(first, weights_only=True)["env_state"]["reference"])


def test_options_given_now_override_the_checkpoint_and_are_reported(first: Path,
                                                                    tmp_path: Path) -> None:
    proc = train("--resume", str(first), "--steps", "512", "--lr", "0.0003",
                 "--adr-fixed", "mass_scale", "--out", str(tmp_path / "c"), *SMALL)
    assert proc.returncode == 0, proc.stderr
    config = saved_config(tmp_path / "c")
    assert config["lr"] == 0.0003
    assert list(config["adr_fixed"]) == ["mass_scale"]  # type: ignore[call-overload]
    assert config["adr_sides"] == "hard"  # not given now: still the checkpoint's
    assert "changed from the checkpoint's run: adr_fixed=mass_scale lr=0.0003" in proc.stderr


@pytest.mark.parametrize("option, value", [("--hidden", "32,32"), ("--recurrent", "gru")])
def test_a_different_model_shape_on_resume_is_refused(first: Path, tmp_path: Path,
                                                      option: str, value: str) -> None:
    out = tmp_path / "d"
    proc = train("--resume", str(first), "--steps", "512", option, value, "--out", str(out),
                 *SMALL)
    assert proc.returncode == 2
    assert f"{option} {value}" in proc.stderr and "the checkpoint's" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_inherited_skips_run_local_unknown_and_given_options() -> None:
    saved = {"robot": "quadruped", "env": None, "dynamics": "adr", "lr": 0.001,
             "steps": 256, "out": "runs/x", "workers": 4, "not_a_train_option": 1}
    got = inherited(saved, given={"lr"})
    assert got == {"robot": "quadruped", "env": None, "dynamics": "adr"}
    assert not set(got) & set(RUN_LOCAL)
    # --robot and --env travel together: naming one now drops both of the checkpoint's
    assert "env" not in inherited(saved, given={"robot"})
    assert "robot" not in inherited(saved, given={"env"})
    assert inherited(None, given=set()) == {}


def test_resume_without_adr_drops_the_checkpoints_adr_settings(first: Path, tmp_path: Path
                                                               ) -> None:
    # an ADR run continued on a plain-DR range: its --adr-fixed alone would be refused
    # ("needs a robot trained with --dynamics adr"), so none of its ADR options carry over
    proc = train("--resume", str(first), "--steps", "512", "--dynamics", "randomized",
                 "--out", str(tmp_path / "e"), *SMALL)
    assert proc.returncode == 0, proc.stderr
    config = saved_config(tmp_path / "e")
    assert config["dynamics"] == "randomized"
    assert list(config["adr_fixed"]) == [] and config["adr_sides"] == "both"  # type: ignore[call-overload]
    assert config["lr"] == 0.0005  # the other settings still carry over
    assert "not continuing the checkpoint's ADR settings" in proc.stderr
    continuing = [line for line in proc.stderr.splitlines()
                  if "continuing the checkpoint's settings:" in line]
    assert continuing and "lr=0.0005" in continuing[0] and "adr_" not in continuing[0]
    assert "the checkpoint's ADR state (env_state) is ignored" in proc.stderr


def test_a_checkpoint_holding_removed_options_resumes_with_a_note(first: Path, tmp_path: Path
                                                                  ) -> None:
    """A checkpoint of an older version holds the removed options (train/config.py REMOVED):
    it still resumes; one that used an option (a value other than its 'off' one) says the
    run goes on without it, one at the off value (every ordinary run's) says nothing."""
    ckpt = torch.load(first, weights_only=True)
    ckpt["config"].update({"adr_corner": 0.25, "adr_anchor": 0.0, "adr_min_reference": 0.2,
                           "adr_probe_envs": 0})
    old = tmp_path / "old.pt"
    torch.save(ckpt, old)
    proc = train("--resume", str(old), "--steps", "512", "--out", str(tmp_path / "f"), *SMALL)
    assert proc.returncode == 0, proc.stderr
    assert "trained with --adr-corner 0.25, an option since removed" in proc.stderr
    assert "continues without it" in proc.stderr
    for quiet in ("--adr-anchor", "--adr-min-reference", "--adr-probe-envs"):
        assert quiet not in proc.stderr
    config = saved_config(tmp_path / "f")
    assert not {"adr_corner", "adr_anchor", "adr_min_reference", "adr_probe_envs"} & set(config)
    assert config["adr_sides"] == "hard"  # the options that remain still carry over
