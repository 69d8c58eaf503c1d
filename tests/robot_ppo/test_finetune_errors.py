"""`robot-ppo finetune` on data it cannot use (issue 25 items 3, 6 and 11): too few steps,
a loss that turns non-finite, an unreadable header and runs that recorded nothing each
end in a one-line error (exit 2) or a note, never a traceback, and nothing already
written is lost."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from robot_ppo.cli import main as cli_main
from robot_ppo.rollout_format import RolloutFormatError, RolloutWriter, read_rollouts
from robot_ppo.spec import load_spec

pytestmark = pytest.mark.usefixtures("one_torch_thread")
pytest.importorskip("sim")

from tests.robot_ppo.test_finetune import _checkpoint, log_sim_rollouts  # noqa: E402

SPEC = load_spec("cartpole")


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("robot-ppo finetune")]
    assert lines and "Traceback" not in err, err
    return lines[-1]


def _empty_run(log_dir: Path, killed: bool) -> Path:
    """A run that recorded no step: closed at once, or (killed) as a SIGKILL before the
    first chunk leaves it, a header and empty segment files without a close event."""
    w = RolloutWriter(log_dir, SPEC, {"source": "test"}, explore=True, backpressure="block")
    w.close()
    if killed:
        for seg in w.run_dir.glob("seg-*"):
            seg.write_bytes(b"")
    return w.run_dir


def _tiny_run(log_dir: Path, rows: int) -> None:
    """One exploring episode of `rows` steps, cut by the operator."""
    from tests.robot_ppo.test_rollout_format import _step_inputs

    w = RolloutWriter(log_dir, SPEC, {"source": "test"}, explore=True, backpressure="block")
    w.mark_episode("start", "operator")
    for i in range(rows):
        state, obs, cmd, a = _step_inputs(i)
        w.append(float(i), state, obs * 0.01, cmd, a, logp=-1.0, std=np.array([0.3]),
                 action_mean=a)
    w.mark_episode("stop", "operator")
    w.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from robot_ppo.train.checkpoint import build_model, load_checkpoint

    root = tmp_path_factory.mktemp("fterr")
    ck = _checkpoint(root / "ref" / "checkpoint.pt")
    log_sim_rollouts(root / "logs", build_model(load_checkpoint(ck)), episodes=3,
                     explore=1.5, seed=5)
    return ck, root / "logs"


def test_too_few_steps_says_how_many_are_needed(
        reference: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    ck, _ = reference
    logs = tmp_path / "logs"
    _tiny_run(logs, rows=2)  # one usable step: the last row only bootstraps
    out = tmp_path / "out"
    assert cli_main(["finetune", "--checkpoint", str(ck), "--rollouts", str(logs),
                     "--out", str(out)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "1 usable step" in line and "at least 2" in line
    assert not out.exists()


def test_non_finite_loss_is_an_error_and_loses_nothing(
        reference: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    ck, logs = reference
    parent = ck.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"an earlier fine-tune")
    (out / "summary.json").write_text("{}")
    # a learning rate of 1e30 sends the weights to inf after the first step
    rc = cli_main(["finetune", "--checkpoint", str(ck), "--rollouts", str(logs), "--out",
                   str(out), "--overwrite", "true", "--lr", "1e30", "--minibatch-size", "16",
                   "--value-warmup-epochs", "1", "--iterations", "2"])
    assert rc == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "not finite" in line and "--lr" in line
    assert ck.read_bytes() == parent
    assert (out / "checkpoint.pt").read_bytes() == b"an earlier fine-tune"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "summary.json"]


def test_binary_header_is_a_one_line_error(reference: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ck, _ = reference
    run = tmp_path / "logs" / "run-x"
    run.mkdir(parents=True)
    (run / "header.json").write_bytes(os.urandom(512) + b"\xff\xfe")
    assert cli_main(["finetune", "--checkpoint", str(ck), "--rollouts",
                     str(tmp_path / "logs"), "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "header.json" in line
    (run / "header.json").write_text("[1, 2]")
    with pytest.raises(RolloutFormatError, match=r"header\.json"):
        read_rollouts(tmp_path / "logs")


def test_runs_that_recorded_nothing_are_skipped_with_a_note(
        reference: tuple[Path, Path], tmp_path: Path) -> None:
    _, logs = reference
    empty = tmp_path / "empty"
    killed = _empty_run(empty, killed=True)
    closed = _empty_run(empty, killed=False)
    data = read_rollouts([empty, logs], expected_spec_hash=SPEC.spec_hash)
    assert data.episodes and {e.run_dir for e in data.episodes} == \
        {str(p) for p in sorted(logs.iterdir())}
    assert data.report.empty_runs == sorted([str(killed), str(closed)])
    assert "2 run(s) with no recorded steps skipped" in data.report.summary()


def test_only_empty_runs_is_a_clear_error(tmp_path: Path) -> None:
    _empty_run(tmp_path, killed=True)
    with pytest.raises(RolloutFormatError, match="recorded no steps"):
        read_rollouts(tmp_path)


def test_finetune_reads_the_other_runs(reference: tuple[Path, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ck, logs = reference
    empty = tmp_path / "empty"
    _empty_run(empty, killed=True)
    out = tmp_path / "out"
    assert cli_main(["finetune", "--checkpoint", str(ck), "--rollouts", str(empty),
                     str(logs), "--out", str(out), "--iterations", "1", "--epochs", "1",
                     "--value-warmup-epochs", "1"]) == 0
    printed = capsys.readouterr()
    assert "1 run(s) with no recorded steps skipped" in printed.out + printed.err
    assert (out / "checkpoint.pt").is_file()
