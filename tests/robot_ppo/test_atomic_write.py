"""Atomic replacement of written files: the old file stays whole until the new one is
complete, and files get the normal umask-derived mode (issue 25 items 1 and 16)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from robot_ppo.atomic_write import atomic_open, atomic_write
from robot_ppo.errors import UserError


@pytest.fixture
def umask_022() -> Iterator[int]:
    """A known umask, so the expected mode is 0644 whatever the machine's is."""
    old = os.umask(0o022)
    yield 0o022
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_replaces_and_leaves_no_temp(tmp_path: Path, umask_022: int) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old")
    atomic_write(target, "new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
    assert _mode(target) == 0o666 & ~umask_022


def test_failure_midway_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "checkpoint.pt"
    target.write_bytes(b"the good checkpoint")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_open(target) as fh:
        fh.write(b"half of a new one")
        raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"the good checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"], "temp file removed"


def test_directory_target_is_a_clear_user_error(tmp_path: Path) -> None:
    (tmp_path / "policy.onnx").mkdir()
    with pytest.raises(UserError, match="is a directory"):
        atomic_write(tmp_path / "policy.onnx", b"x")


def test_checkpoint_gets_umask_mode(tmp_path: Path, umask_022: int) -> None:
    pytest.importorskip("torch")
    from robot_ppo.algo.actor_critic import ActorCritic
    from robot_ppo.train.checkpoint import save_checkpoint

    model = ActorCritic(3, 1, hidden=(8,))
    path = save_checkpoint(tmp_path / "checkpoint.pt", model=model, optimizer=None, config={},
                           env_id="Pendulum-v1", action_low=[-2.0], action_high=[2.0],
                           env_steps=0, iteration=0)
    assert _mode(path) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_onnx_export_gets_umask_mode(tmp_path: Path, umask_022: int) -> None:
    pytest.importorskip("onnxruntime")
    from robot_ppo.algo.actor_critic import ActorCritic
    from robot_ppo.cli import main as cli_main
    from robot_ppo.train.checkpoint import save_checkpoint

    model = ActorCritic(3, 1, hidden=(8,))
    ck = save_checkpoint(tmp_path / "ck.pt", model=model, optimizer=None, config={},
                         env_id="Pendulum-v1", action_low=[-2.0], action_high=[2.0],
                         env_steps=0, iteration=0)
    out = tmp_path / "policy.onnx"
    assert cli_main(["export", str(ck), "-o", str(out), "--no-sim", "true",
                     "--recorded-steps", "10"]) == 0
    assert _mode(out) == 0o644


def test_runtime_stats_are_written_atomically(tmp_path: Path, umask_022: int) -> None:
    from deploy.stats import write_stats

    path = tmp_path / "loop_stats.json"
    write_stats(path, {"cycles": 3})
    write_stats(path, {"cycles": 4})
    assert json.loads(path.read_text()) == {"cycles": 4}
    assert _mode(path) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["loop_stats.json"]


def test_metrics_widening_rewrites_the_file_whole(tmp_path: Path) -> None:
    """A new env metric column rewrites metrics.csv (atomically) with every row aligned,
    and later rows still append to it."""
    import csv

    from robot_ppo.train.logger import COLUMNS, MetricsLogger

    log = MetricsLogger(tmp_path, tensorboard=False)
    log.log({"iteration": 1, "env_steps": 10})
    log.log({"iteration": 2, "env_steps": 20, "adr/entropy": 0.5})
    log.log({"iteration": 3, "env_steps": 30, "adr/entropy": 0.7})
    log.close()
    rows = list(csv.DictReader((tmp_path / "metrics.csv").read_text().splitlines()))
    assert list(rows[0]) == [*COLUMNS, "adr/entropy"]
    assert [(r["iteration"], r["adr/entropy"]) for r in rows] == [("1", ""), ("2", "0.5"),
                                                                  ("3", "0.7")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]
