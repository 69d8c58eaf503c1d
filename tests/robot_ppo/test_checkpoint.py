"""Checkpoint contract: weights_only round trip, refusal of bad files, NaN guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.errors import UserError
from robot_ppo.train.checkpoint import (
    FORMAT_VERSION,
    REQUIRED_KEYS,
    build_model,
    load_checkpoint,
    save_checkpoint,
    saved_env_state,
)
from robot_ppo.train.config import TrainConfig
from robot_ppo.train.trainer import EnvSource, Trainer
from robot_ppo.train.vec_env import GymEnvFactory

PLAIN = (torch.Tensor, dict, list, str, int, float, bool, type(None))


def _tiny(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(env="Pendulum-v1", steps=256, envs=2, rollout_steps=64,
                                minibatch_size=64, epochs=1, workers=0, progress=False,
                                tensorboard=False)
    base.update(kw)
    return TrainConfig.flat(**base)


def _all_plain(x: Any) -> bool:
    if isinstance(x, dict):
        return all(isinstance(k, (str, int)) and _all_plain(v) for k, v in x.items())
    if isinstance(x, list):
        return all(_all_plain(v) for v in x)
    return isinstance(x, PLAIN)


def _save(path: Path, model: ActorCritic) -> None:
    save_checkpoint(path, model=model, optimizer=None, config={"lr": 1e-3},
                    env_id="Pendulum-v1", action_low=[-2.0], action_high=[2.0],
                    env_steps=10, iteration=1)


def test_round_trip_weights_only(tmp_path: Path) -> None:
    Trainer(_tiny(), EnvSource(GymEnvFactory("Pendulum-v1"), "Pendulum-v1"),
            tmp_path).run()
    raw = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert set(REQUIRED_KEYS) <= set(raw)
    assert raw["format"] == "robot_ppo.checkpoint" and raw["format_version"] == FORMAT_VERSION
    assert _all_plain(raw)
    assert raw["env_steps"] == 256 and raw["iteration"] == 2
    assert raw["action_low"] == [-2.0] and raw["action_high"] == [2.0]
    assert raw["model_state"]["obs_normalizer.count"].item() == 256
    assert raw["lineage"] == {"parent": None}

    model = build_model(load_checkpoint(tmp_path / "checkpoint.pt"))
    obs = torch.randn(5, 3) * 3
    again = ActorCritic.from_config(raw["model_config"])
    again.load_state_dict(raw["model_state"])
    torch.testing.assert_close(model.actor_mean(obs), again.actor_mean(obs))
    assert model.action_std(obs).shape == (5, 1)
    # the normalizer travelled: a fresh model maps the same obs differently
    assert not torch.allclose(model.obs_normalizer.mean, torch.zeros(3))


def test_resume_continues_steps_and_optimizer(tmp_path: Path) -> None:
    src = EnvSource(GymEnvFactory("Pendulum-v1"), "Pendulum-v1")
    Trainer(_tiny(), src, tmp_path / "a").run()
    first = load_checkpoint(tmp_path / "a" / "checkpoint.pt")
    summary = Trainer(_tiny(steps=512, resume=tmp_path / "a" / "checkpoint.pt"), src,
                      tmp_path / "b").run()
    second = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert summary["env_steps"] == 512 and second["iteration"] == 4
    assert second["lineage"]["parent"] == str(tmp_path / "a" / "checkpoint.pt")
    assert second["model_state"]["obs_normalizer.count"].item() == 512
    assert second["optimizer_state"]["state"][0]["step"].item() > \
        first["optimizer_state"]["state"][0]["step"].item()


def test_refuses_missing_foreign_and_incompatible(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(UserError, match="not a robot_ppo checkpoint"):
        load_checkpoint(text)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(UserError, match="not a robot_ppo checkpoint"):
        load_checkpoint(other)
    ckpt = tmp_path / "v.pt"
    _save(ckpt, ActorCritic(3, 1))
    data = torch.load(ckpt, weights_only=True)
    data["format_version"] = FORMAT_VERSION + 1
    torch.save(data, ckpt)
    with pytest.raises(UserError, match="format_version 2"):
        load_checkpoint(ckpt)


def test_nan_weights_never_overwrite_a_good_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    model = ActorCritic(3, 1)
    _save(path, model)
    good = path.read_bytes()
    with torch.no_grad():
        model.mu.weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError):
        _save(path, model)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp left behind


class NaNAfter(gym.Wrapper):
    """Pendulum whose reward turns NaN after `after` steps (per env instance)."""

    def __init__(self, after: int) -> None:
        super().__init__(gym.make("Pendulum-v1"))
        self.after, self.count = after, 0

    def step(self, action: Any) -> Any:
        obs, r, term, trunc, info = self.env.step(action)
        self.count += 1
        return obs, (float("nan") if self.count > self.after else r), term, trunc, info


def _nan_env() -> gym.Env:
    return NaNAfter(after=200)


def test_nan_loss_stops_with_last_good_checkpoint(tmp_path: Path) -> None:
    config = _tiny(steps=2048, checkpoint_every=1)
    trainer = Trainer(config, EnvSource(_nan_env, "Pendulum-v1"), tmp_path)
    with pytest.raises(UserError, match=r"last good checkpoint is .*checkpoint\.pt") as err:
        trainer.run()
    assert "Traceback" not in str(err.value)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["iteration"] == 3  # 3 × 64 steps per env were finite, the 4th was not
    assert all(torch.isfinite(v).all() for v in ckpt["model_state"].values()
               if v.is_floating_point())
    assert np.isfinite(ckpt["reward_scaler"]["var"])


def test_env_state_is_read_under_its_key_and_the_old_one(tmp_path: Path) -> None:
    state = {"ranges": {"friction": [0.4, 1.3]}, "curriculum": {"level": 0.1}}
    save_checkpoint(tmp_path / "c.pt", model=ActorCritic(3, 1), optimizer=None, config={},
                    env_id="Pendulum-v1", action_low=[-2.0], action_high=[2.0],
                    env_steps=10, iteration=1, env_state=state)
    ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt["env_state"] == state and "adr_state" not in ckpt
    assert saved_env_state(ckpt) == state
    # a checkpoint written before the key was generic held the same dict as adr_state
    old = {k: v for k, v in ckpt.items() if k != "env_state"} | {"adr_state": state}
    assert saved_env_state(old) == state
    assert saved_env_state({k: v for k, v in ckpt.items() if k != "env_state"}) is None
