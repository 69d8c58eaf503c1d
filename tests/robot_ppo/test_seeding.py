"""Same seed → bit-identical first-iteration losses; another seed → different ones."""

from __future__ import annotations

from pathlib import Path

from robot_ppo.train.config import TrainConfig
from robot_ppo.train.trainer import EnvSource, Trainer
from robot_ppo.train.vec_env import GymEnvFactory

KEYS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction",
        "explained_variance")


def _first_iteration(tmp: Path, seed: int) -> dict[str, float]:
    rows: list[dict[str, float]] = []
    config = TrainConfig(env="Pendulum-v1", steps=256, envs=2, rollout_steps=128,
                         minibatch_size=64, epochs=2, seed=seed, workers=0, progress=False,
                         tensorboard=False)
    trainer = Trainer(config, EnvSource(GymEnvFactory("Pendulum-v1"), "Pendulum-v1"), tmp,
                      on_iteration=rows.append)
    trainer.run()
    assert len(rows) == 1
    return {k: rows[0][k] for k in KEYS}


def test_same_seed_identical_first_iteration(tmp_path: Path) -> None:
    a = _first_iteration(tmp_path / "a", seed=7)
    b = _first_iteration(tmp_path / "b", seed=7)
    c = _first_iteration(tmp_path / "c", seed=8)
    assert a == b
    assert a != c
