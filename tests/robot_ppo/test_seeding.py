"""Same seed → bit-identical first-iteration losses; another seed → different ones; the
number of worker processes does not change a run."""

from __future__ import annotations

import csv
from pathlib import Path

from robot_ppo.cli import main
from robot_ppo.train.config import TrainConfig
from robot_ppo.train.trainer import EnvSource, Trainer
from robot_ppo.train.vec_env import GymEnvFactory

KEYS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction",
        "explained_variance")


def _first_iteration(tmp: Path, seed: int) -> dict[str, float]:
    rows: list[dict[str, float]] = []
    config = TrainConfig.flat(env="Pendulum-v1", steps=256, envs=2, rollout_steps=128,
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


def _metrics(run: Path) -> list[dict[str, str]]:
    """metrics.csv without the timing columns."""
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    return [{k: v for k, v in r.items() if k not in ("wall_s", "steps_per_s")} for r in rows]


def test_worker_processes_do_not_change_a_randomized_run(tmp_path: Path) -> None:
    # Each env draws its dynamics from its own seeded generator, wherever it steps, so the
    # same seed gives the same run in one process and split over workers (docs/training.md).
    # (Not so with --dynamics adr: each process keeps an ADR of its own, docs/simulation.md.)
    args = ["train", "--robot", "cartpole", "--dynamics", "randomized", "--envs", "4",
            "--rollout-steps", "128", "--steps", "1024", "--epochs", "1", "--seed", "3",
            "--tensorboard", "false", "--progress", "false"]
    assert main([*args, "--workers", "0", "--out", str(tmp_path / "w0")]) == 0
    assert main([*args, "--workers", "2", "--out", str(tmp_path / "w2")]) == 0
    w0, w2 = _metrics(tmp_path / "w0"), _metrics(tmp_path / "w2")
    assert len(w0) == 2 and any(r["episode_return"] not in ("", "nan") for r in w0)
    assert w0 == w2
