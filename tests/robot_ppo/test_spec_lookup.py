"""`load_spec` resolution (issue 25 item 4): a directory is never a spec; a built-in name
wins unless the argument is a path to a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from robot_ppo.errors import UserError
from robot_ppo.spec import BUILTIN_DIR, load_spec


def test_builtin_name_wins_over_a_directory_of_that_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cartpole").mkdir()
    (tmp_path / "cartpole" / "checkpoint.pt").write_bytes(b"x")
    (tmp_path / "arm").mkdir()
    assert load_spec("cartpole").name == "cartpole"
    assert load_spec("arm").name == "arm"


def test_directory_is_never_a_spec(tmp_path: Path) -> None:
    folder = tmp_path / "myrobot.yaml"
    folder.mkdir()
    with pytest.raises(UserError, match="is a directory, not a robot spec"):
        load_spec(folder)
    with pytest.raises(UserError, match="is a directory, not a robot spec"):
        load_spec(tmp_path)


def test_a_file_path_wins_over_the_builtin_name(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    text = (BUILTIN_DIR / "cartpole.yaml").read_text()
    (tmp_path / "cartpole").write_text(text.replace("name: cartpole", "name: mycartpole", 1))
    monkeypatch.chdir(tmp_path)
    assert load_spec("cartpole").name == "mycartpole"
    assert load_spec(BUILTIN_DIR / "cartpole.yaml").name == "cartpole"


def test_binary_spec_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "robot.yaml"
    bad.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match=r"robot\.yaml"):
        load_spec(bad)


def test_train_out_named_like_the_robot(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`train --robot cartpole --out cartpole`: the run directory is created before the
    envs are built, and must not hide the built-in robot from them."""
    pytest.importorskip("sim")
    from robot_ppo.cli import main as cli_main

    monkeypatch.chdir(tmp_path)
    rc = cli_main(["train", "--robot", "cartpole", "--out", "cartpole", "--steps", "128",
                   "--envs", "1", "--rollout-steps", "128", "--epochs", "1", "--workers", "0",
                   "--progress", "false", "--tensorboard", "false"])
    assert rc == 0
    assert (tmp_path / "cartpole" / "checkpoint.pt").is_file()
