"""Results are never lost (issue 25 item 1): commands that write a run refuse a non-empty
output directory unless told --overwrite (which leaves no stale file), `train --resume`
may continue a run in its own directory, and `finetune` never writes into the directory
of its reference checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from robot_ppo.cli import main as cli_main
from robot_ppo.run_dir import fresh_run_dir

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--env", "Pendulum-v1", "--steps", "256", "--envs", "2", "--rollout-steps", "128",
        "--epochs", "1", "--workers", "0", "--progress", "false", "--tensorboard", "false"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("robot-ppo")]
    assert lines and "Traceback" not in err, err
    return lines[-1]


def test_train_refuses_a_run_directory_that_holds_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"30k steps of training")
    before = _snapshot(out)
    assert cli_main(["train", *TINY, "--out", str(out)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert str(out) in line
    for way_out in ("--resume", "--out", "--overwrite"):
        assert way_out in line, way_out
    assert _snapshot(out) == before


def test_train_overwrite_leaves_no_stale_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "learning_curves.png").write_bytes(b"old curves")
    (out / "summary.json").write_text('{"env_steps": 30000}')
    (out / "tb").mkdir()
    (out / "tb" / "events").write_bytes(b"old")
    assert cli_main(["train", *TINY, "--out", str(out), "--overwrite", "true"]) == 0
    assert not (out / "learning_curves.png").exists() and not (out / "tb").exists()
    assert json.loads((out / "summary.json").read_text())["env_steps"] == 256


def test_train_resume_continues_in_its_own_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main(["train", *TINY, "--out", "run"]) == 0
    rows = len((tmp_path / "run" / "metrics.csv").read_text().splitlines())
    # the same directory spelled differently: ./run vs an absolute path
    assert cli_main(["train", *TINY[:2], "--steps", "512", *TINY[4:], "--resume",
                     "./run/checkpoint.pt", "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["env_steps"] == 512
    assert len((tmp_path / "run" / "metrics.csv").read_text().splitlines()) > rows
    capsys.readouterr()
    # --overwrite would delete the checkpoint being continued
    before = _snapshot(tmp_path / "run")
    assert cli_main(["train", *TINY[:2], "--steps", "768", *TINY[4:], "--resume",
                     "run/checkpoint.pt", "--out", "run", "--overwrite", "true"]) == 2
    assert "--resume" in _one_line_error(capsys.readouterr().err)
    assert _snapshot(tmp_path / "run") == before
    # another non-empty directory is refused even with --resume
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert cli_main(["train", *TINY[:2], "--steps", "768", *TINY[4:], "--resume",
                     "run/checkpoint.pt", "--out", str(other)]) == 2
    assert (other / "notes.txt").read_text() == "mine"


def test_overwrite_refuses_a_directory_that_is_not_a_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "documents"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    assert cli_main(["train", *TINY, "--out", str(home), "--overwrite", "true"]) == 2
    assert "not a robot_ppo run" in _one_line_error(capsys.readouterr().err)
    assert (home / "thesis.tex").read_text() == "years of work"
    # nor the working directory, which holds the run's inputs and more
    monkeypatch.chdir(tmp_path)
    (tmp_path / "summary.json").write_text("{}")
    assert cli_main(["train", *TINY, "--out", ".", "--overwrite", "true"]) == 2
    assert (home / "thesis.tex").exists()


def test_fresh_run_dir_never_reuses_a_run(tmp_path: Path) -> None:
    base = tmp_path / "demo"
    assert fresh_run_dir(base) == base
    base.mkdir()
    assert fresh_run_dir(base) == base, "an empty directory holds no results"
    (base / "demo_summary.json").write_text("{}")
    assert fresh_run_dir(base) == tmp_path / "demo-2"
    (tmp_path / "demo-2").mkdir()
    (tmp_path / "demo-2" / "x").write_text("")
    assert fresh_run_dir(base) == tmp_path / "demo-3"


def test_demo_default_out_gets_a_fresh_name(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from robot_ppo.commands.demo import DemoConfig, output_dir

    monkeypatch.chdir(tmp_path)
    assert output_dir(DemoConfig()) == tmp_path / "runs" / "demo"
    (tmp_path / "runs" / "demo").mkdir(parents=True)
    (tmp_path / "runs" / "demo" / "demo_summary.json").write_text("{}")
    assert output_dir(DemoConfig()) == tmp_path / "runs" / "demo-2"


def test_demo_explicit_out_and_bad_options_are_checked_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "policy.onnx").write_bytes(b"a policy")
    assert cli_main(["demo", "--out", str(out)]) == 2
    assert "--overwrite" in _one_line_error(capsys.readouterr().err)
    assert (out / "policy.onnx").read_bytes() == b"a policy"
    fresh = tmp_path / "fresh"
    assert cli_main(["demo", "--out", str(fresh), "--train-steps", "-5"]) == 2
    assert "--train-steps" in _one_line_error(capsys.readouterr().err)
    assert not fresh.exists(), "nothing is created before the options are checked"


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    pytest.importorskip("sim")
    from tests.robot_ppo.test_finetune import _checkpoint

    folder = tmp_path / "D"
    folder.mkdir()
    ck = _checkpoint(folder / "checkpoint.pt")
    (folder / "summary.json").write_text('{"env_steps": 30000}')
    return ck


@pytest.mark.parametrize("spelling", ["absolute", "dot", "symlink"])
def test_finetune_never_writes_into_its_reference_directory(
        reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], spelling: str) -> None:
    folder = reference.parent
    logs = tmp_path / "logs"
    logs.mkdir()
    monkeypatch.chdir(tmp_path)
    if spelling == "symlink":
        os.symlink(folder, tmp_path / "link")
    out = {"absolute": str(folder), "dot": "./D", "symlink": "link"}[spelling]
    before = _snapshot(folder)
    for extra in ([], ["--overwrite", "true"]):
        assert cli_main(["finetune", "--checkpoint", "D/checkpoint.pt", "--rollouts",
                         str(logs), "--out", out, *extra]) == 2
        line = _one_line_error(capsys.readouterr().err)
        assert "reference checkpoint" in line and "--out" in line
    assert _snapshot(folder) == before


def test_finetune_refuses_a_nonempty_out(reference: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ft"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"an earlier fine-tune")
    logs = tmp_path / "logs"
    logs.mkdir()
    assert cli_main(["finetune", "--checkpoint", str(reference), "--rollouts", str(logs),
                     "--out", str(out)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert str(out) in line and "--overwrite" in line
    assert (out / "checkpoint.pt").read_bytes() == b"an earlier fine-tune"


def test_export_to_a_directory_is_a_clear_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policies").mkdir()
    assert cli_main(["export", str(tmp_path / "missing.pt"), "-o",
                     str(tmp_path / "policies")]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "is a directory" in line and "-o" in line


def test_train_creates_nothing_when_an_input_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The resumed checkpoint does not fit the env: found before --out is created."""
    from robot_ppo.algo.actor_critic import ActorCritic
    from robot_ppo.train.checkpoint import save_checkpoint

    ck = save_checkpoint(tmp_path / "pendulum.pt", model=ActorCritic(3, 1, hidden=(8,)),
                         optimizer=None, config={}, env_id="Pendulum-v1", action_low=[-2.0],
                         action_high=[2.0], env_steps=0, iteration=0)
    out = tmp_path / "new-run"
    assert cli_main(["train", "--env", "MountainCarContinuous-v0", *TINY[2:], "--resume",
                     str(ck), "--out", str(out)]) == 2
    assert "obs_dim" in _one_line_error(capsys.readouterr().err)
    assert not out.exists()
