"""A checkpoint's config: written nested (sections), read back as a TrainConfig, and a
checkpoint written before the sections existed (a flat dict, removed options included)
still resumes and exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from robot_ppo.cli import main
from robot_ppo.cli_config import parse_config
from robot_ppo.train.config import TrainConfig
from robot_ppo.train.saved_config import checkpoint_config, config_dict, saved_options

TINY = ["--env", "Pendulum-v1", "--envs", "2", "--rollout-steps", "128", "--epochs", "1",
        "--minibatch-size", "64", "--workers", "0", "--no-progress", "--no-tensorboard"]


def old_flat_config(**changes: Any) -> dict[str, Any]:
    """`ckpt["config"]` as robot_ppo wrote it before the config had sections (964ce73):
    every option flat, tuples as lists, paths as strings, no `overwrite`; and, from older
    versions still, the options removed since (train/config.py REMOVED)."""
    config: dict[str, Any] = {
        "robot": None, "env": "Pendulum-v1", "dynamics": "randomized", "privileged": False,
        "adr_high": 0.8, "adr_low": 0.4, "adr_sides": "both", "adr_fixed": [],
        "adr_relative": False, "preset": "auto", "steps": 256, "envs": 2,
        "rollout_steps": 128, "minibatch_size": 64, "epochs": 1, "lr": 0.0007,
        "hidden": [32, 32], "activation": "tanh", "std_mode": "state_independent",
        "init_std": 1.0, "std_final": 0.0, "std_final_at": 0.75, "recurrent": "none",
        "rnn_hidden": 64, "seq_len": 16, "noise": "white", "noise_beta": 0.9, "gamma": 0.95,
        "gae_lambda": 0.95, "clip": 0.2, "value_clip": 0.0, "vf_coef": 0.5, "ent_coef": 0.0,
        "max_grad_norm": 0.5, "manual_grad": True, "adv_norm": "batch", "kl_mode": "none",
        "target_kl": 0.01, "reward_scaling": True, "normalize_obs": True, "obs_clip": 10.0,
        "seed": 4, "out": "runs/old", "resume": None, "checkpoint_every": 10,
        "return_window": 20, "workers": 0, "torch_threads": 1, "progress": False,
        "tensorboard": False,
        "adr_corner": 0.0, "adr_anchor": 0.0, "adr_min_reference": 0.2, "adr_probe_envs": 0,
    }
    config.update(changes)
    return config


@pytest.fixture(scope="module")
def old_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint whose config is the old flat dict (weights from a tiny run now)."""
    tmp = tmp_path_factory.mktemp("old_ckpt")
    assert main(["train", *TINY, "--hidden", "32,32", "--steps", "256",
                 "--out", str(tmp / "run")]) == 0
    ckpt = torch.load(tmp / "run" / "checkpoint.pt", weights_only=True)
    ckpt["config"] = old_flat_config()
    torch.save(ckpt, tmp / "old.pt")
    return tmp / "old.pt"


def test_the_config_travels_nested_and_comes_back_equal() -> None:
    config = parse_config(TrainConfig, ["--env", "Pendulum-v1", "--lr", "2e-4", "--hidden",
                                        "16", "--set", "ppo.gamma=0.9"], "robot-ppo train", "")
    plain = config_dict(config)
    assert set(plain) == {"environment", "model", "ppo", "run"}
    assert plain["ppo"]["lr"] == 2e-4 and plain["model"]["hidden"] == [16]
    assert "overwrite" not in plain["run"]  # never inherited by a --resume
    assert checkpoint_config(plain) == config
    assert checkpoint_config(yaml.safe_load(yaml.safe_dump(plain))) == config


def test_an_old_flat_config_reads_as_a_train_config() -> None:
    config = checkpoint_config(old_flat_config())
    assert isinstance(config, TrainConfig)
    assert (config.environment.env, config.ppo.lr, config.ppo.gamma) == ("Pendulum-v1",
                                                                          7e-4, 0.95)
    assert config.model.hidden == (32, 32) and config.run.seed == 4
    assert str(config.run.out) == "runs/old"
    # removed options and keys TrainConfig never had (a fine-tuning run's) are no options
    options = saved_options(old_flat_config(kl_bound=0.05))
    assert "adr_corner" not in options and "kl_bound" not in options
    assert checkpoint_config(None) == TrainConfig()


def test_an_old_checkpoint_resumes_with_its_settings(old_checkpoint: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "resumed"
    assert main(["train", "--resume", str(old_checkpoint), "--steps", "512", "--out",
                 str(out), "--no-progress", "--no-tensorboard"]) == 0
    assert "continuing the checkpoint's settings" in capsys.readouterr().err
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    assert saved["env_steps"] == 512
    config = checkpoint_config(saved["config"])  # written nested now
    assert set(saved["config"]) == {"environment", "model", "ppo", "run"}
    assert (config.ppo.lr, config.ppo.gamma, config.model.hidden, config.run.seed) == (
        7e-4, 0.95, (32, 32), 4)
    # the run's config.yaml loads back with --config (its `recorded` facts are skipped)
    again = parse_config(TrainConfig, ["--config", str(out / "config.yaml")],
                         "robot-ppo train", "")
    assert again == config


def test_an_old_checkpoint_exports(old_checkpoint: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    onnx_path = tmp_path / "policy.onnx"
    assert main(["export", str(old_checkpoint), "-o", str(onnx_path), "--no-sim"]) == 0
    assert onnx_path.stat().st_size > 0
