"""Trainer options end to end on small budgets: privileged critic, state-dependent std
(autograd path), value clipping, and both KL controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.ppo import PPO, PPOParams
from robot_ppo.train.checkpoint import build_model, load_checkpoint
from robot_ppo.train.config import TrainConfig
from robot_ppo.train.trainer import EnvSource, Trainer
from robot_ppo.train.vec_env import GymEnvFactory


class Privileged(gym.Wrapper):
    """Pendulum that reports its true angle and speed as privileged critic-only info."""

    def __init__(self) -> None:
        super().__init__(gym.make("Pendulum-v1"))

    def _priv(self) -> np.ndarray:
        th, thdot = self.env.unwrapped.state  # type: ignore[attr-defined]
        return np.array([th, thdot], dtype=np.float32)

    def reset(self, **kw: Any) -> Any:
        obs, info = self.env.reset(**kw)
        return obs, {**info, "privileged": self._priv()}

    def step(self, action: Any) -> Any:
        obs, r, term, trunc, info = self.env.step(action)
        return obs, r, term, trunc, {**info, "privileged": self._priv()}


def _tiny(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(env="Pendulum-v1", steps=512, envs=2, rollout_steps=128,
                                minibatch_size=64, epochs=2, workers=0, progress=False,
                                tensorboard=False)
    return TrainConfig.flat(**{**base, **kw})


def test_privileged_critic(tmp_path: Path) -> None:
    Trainer(_tiny(privileged=True), EnvSource(Privileged, "Pendulum-v1"), tmp_path).run()
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["model_config"]["critic_obs_dim"] == 2
    assert ckpt["model_state"]["critic_normalizer.count"].item() == 512
    model = build_model(ckpt)
    assert model.actor_mean(torch.zeros(1, 3)).shape == (1, 1)  # actor needs obs only
    assert model.value(torch.zeros(1, 3), torch.zeros(1, 2)).shape == (1,)


@pytest.mark.parametrize("options", [
    {"std_mode": "state_dependent", "value_clip": 0.2},
    {"activation": "relu", "value_clip": 0.2, "adv_norm": "minibatch"},
])
def test_options_train_finite(tmp_path: Path, options: dict[str, Any]) -> None:
    rows: list[dict[str, float]] = []
    Trainer(_tiny(**options), EnvSource(GymEnvFactory("Pendulum-v1"), "Pendulum-v1"),
            tmp_path, on_iteration=rows.append).run()
    assert len(rows) == 2
    for row in rows:
        assert all(np.isfinite(row[k]) for k in ("policy_loss", "value_loss", "approx_kl"))
    assert load_checkpoint(tmp_path / "checkpoint.pt")["model_config"]["std_mode"] == \
        options.get("std_mode", "state_independent")


def _filled_ppo(params: PPOParams) -> PPO:
    torch.manual_seed(0)
    ppo = PPO(ActorCritic(3, 1), params, num_envs=4, num_steps=64)
    rng = np.random.default_rng(0)
    for _ in range(64):
        ppo.act(rng.normal(size=(4, 3)).astype(np.float32))
        ppo.process_step(rng.normal(size=4).astype(np.float32), np.zeros(4, bool),
                         np.zeros(4, bool))
    ppo.compute_returns(rng.normal(size=(4, 3)).astype(np.float32))
    return ppo


def test_kl_early_stop_and_adaptive_lr() -> None:
    full = _filled_ppo(PPOParams(minibatch_size=32, epochs=4, lr=1e-2)).update()
    assert full["updates"] == 32 and full["stopped_early"] == 0.0

    early = _filled_ppo(PPOParams(minibatch_size=32, epochs=4, lr=1e-2,
                                  kl_mode="early_stop", target_kl=1e-4)).update()
    assert 0 < early["updates"] < 32 and early["stopped_early"] == 1.0

    # a KL far above target shrinks the rate (bounded below); far below grows it
    high = _filled_ppo(PPOParams(minibatch_size=32, epochs=4, lr=1e-2, kl_mode="adaptive",
                                 target_kl=1e-6, lr_min=1e-4)).update()
    assert high["learning_rate"] == pytest.approx(1e-4)
    low = _filled_ppo(PPOParams(minibatch_size=32, epochs=1, lr=1e-4, kl_mode="adaptive",
                                target_kl=10.0, lr_max=3e-4)).update()
    assert low["learning_rate"] == pytest.approx(3e-4)
