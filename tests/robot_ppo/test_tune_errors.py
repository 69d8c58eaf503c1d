"""`robot-ppo tune` refuses bad input before any trial runs: one line, exit 2, nothing
trained and nothing of an earlier run lost."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from robot_ppo.cli import main

pytest.importorskip("optuna")


def _tune(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["tune", "--robot", "cartpole", "--trials", "1", *argv])
    return rc, capsys.readouterr().err.strip()


def _one_line(err: str) -> str:
    assert err.startswith("robot-ppo tune: error: ") and "\n" not in err, err
    assert "Traceback" not in err
    return err


def test_unknown_space_parameter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("params:\n  learning_rate: {low: 1.0e-4, high: 1.0e-3, log: true}\n")
    out = tmp_path / "out"
    rc, err = _tune(["--space", str(space), "--out", str(out)], capsys)
    assert rc == 2
    assert "unknown parameter" in _one_line(err) and "Valid ones:" in err and " lr," in err
    assert not out.exists()


def test_low_not_below_high_and_log_of_non_positive(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for body, expected in (("lr: {low: 0.01, high: 0.001}", "must be below high"),
                           ("ent_coef: {low: 0.0, high: 0.01, log: true}",
                            "log scale needs a positive range")):
        space = tmp_path / "space.yaml"
        space.write_text(f"params:\n  {body}\n")
        rc, err = _tune(["--space", str(space), "--out", str(tmp_path / "out")], capsys)
        assert rc == 2 and expected in _one_line(err)
    assert not (tmp_path / "out").exists()


def test_threshold_above_the_tasks_best_return(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _tune(["--objective", "steps", "--threshold", "600", "--out",
                     str(tmp_path / "out")], capsys)
    assert rc == 2
    assert "cannot be reached" in _one_line(err) and "best possible return is 500" in err
    rc, err = _tune(["--objective", "steps", "--out", str(tmp_path / "out")], capsys)
    assert rc == 2 and "needs --threshold" in _one_line(err)
    assert not (tmp_path / "out").exists()


def test_metric_the_task_does_not_report_and_its_bound(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _tune(["--metric", "mean_performance", "--out", str(tmp_path / "out")], capsys)
    assert rc == 2 and "the balance task's evaluation does not report it" in _one_line(err)
    rc = main(["tune", "--robot", "quadruped", "--metric", "mean_performance", "--objective",
               "steps", "--threshold", "1.5", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "best possible mean_performance is 1" in _one_line(err)
    assert not (tmp_path / "out").exists()


def test_a_study_keeps_its_objective(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    optuna = pytest.importorskip("optuna")
    out = tmp_path / "out"
    out.mkdir()
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.set_user_attr("objective", {"kind": "return", "threshold": None,
                                      "metric": "mean_return"})
    rc, err = _tune(["--study", "s", "--storage", storage, "--objective", "steps",
                     "--threshold", "400", "--out", str(out)], capsys)
    assert rc == 2
    assert "was started with --objective return --metric mean_return" in _one_line(err)
    assert len(optuna.load_study(study_name="s", storage=storage).trials) == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_postgres_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("psycopg2", reason="psycopg2 is the driver this case reaches through")
    url = f"postgresql://tuner:secret@127.0.0.1:{_closed_port()}/studies"
    rc, err = _tune(["--storage", url, "--out", str(tmp_path / "out")], capsys)
    assert rc == 2
    assert "cannot reach the study storage postgresql://tuner:***@127.0.0.1" in _one_line(err)
    assert "secret" not in err
    assert not (tmp_path / "out").exists()


def test_missing_driver_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util
    if importlib.util.find_spec("pymysql") or importlib.util.find_spec("MySQLdb"):
        pytest.skip("a MySQL driver is installed here; the missing-driver case cannot be shown")
    rc, err = _tune(["--storage", "mysql://u:p@127.0.0.1/db", "--out", str(tmp_path / "o")],
                    capsys)
    assert rc == 2
    assert "needs a database driver ('pymysql' or 'MySQLdb')" in _one_line(err)
    assert "pip install PyMySQL" in err
    rc, err = _tune(["--storage", "mysql+pymysql://u:p@127.0.0.1/db", "--out",
                     str(tmp_path / "o")], capsys)
    assert rc == 2 and "needs the database driver 'pymysql'" in _one_line(err)
    assert not (tmp_path / "o").exists()


def test_non_empty_out_is_refused_and_kept(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    rc, err = _tune(["--out", str(out)], capsys)
    assert rc == 2 and "already holds files (notes.txt)" in _one_line(err)
    assert "--overwrite" in err
    rc, err = _tune(["--out", str(out), "--overwrite"], capsys)
    assert rc == 2 and "not a tune directory" in _one_line(err)
    assert (out / "notes.txt").read_text() == "mine" and sorted(out.iterdir()) == [
        out / "notes.txt"]


def test_fixed_options_tune_owns_are_refused(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _tune(["--set", "seed=3", "--out", str(tmp_path / "out")], capsys)
    assert rc == 2 and "seed cannot be fixed" in _one_line(err) and "--seed" in err
    rc, err = _tune(["--set", "lrr=0.1", "--out", str(tmp_path / "out")], capsys)
    assert rc == 2 and "unknown option 'lrr'" in _one_line(err)
