"""Studies shared by separately started `robot-ppo tune` processes (Optuna's journal file),
and a killed `tune` resumed: its unfinished trial is marked failed, never lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

TINY = ["--robot", "cartpole", "--budget", "512", "--eval-every", "256", "--eval-episodes", "1",
        "--set", "envs=2", "--set", "rollout_steps=128", "--plots", "false"]


def _tune(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "robot_ppo.cli", "tune", *args],
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def _journal(path: Path) -> object:
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    return JournalStorage(JournalFileBackend(str(path)))


def _running_trial_with_pid(db: Path) -> bool:
    """Whether the SQLite study holds a RUNNING trial that has recorded its pid, read with
    sqlite3 in read-only mode: optuna.load_study on a database that tune is still creating
    would create the schema itself, racing tune's own migration."""
    if not db.is_file():
        return False
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
        try:
            rows = con.execute("SELECT t.state FROM trials t JOIN trial_user_attributes a "
                               "ON a.trial_id = t.trial_id WHERE a.key = 'pid'").fetchall()
        finally:
            con.close()
    except sqlite3.Error:  # no tables yet, or locked mid-write
        return False
    return any(state == "RUNNING" for (state,) in rows)


def test_two_processes_share_one_journal_study(tmp_path: Path) -> None:
    journal = tmp_path / "shared" / "study.log"
    # the first runs two worker processes of its own (--jobs 2), the second one in-process
    procs = [_tune([*TINY, "--trials", "5", "--jobs", str(2 - i), "--study", "shared",
                    "--storage", str(journal), "--out", str(tmp_path / f"machine{i}")],
                   tmp_path / f"log{i}") for i in range(2)]
    codes = [p.wait(timeout=120) for p in procs]
    logs = [(tmp_path / f"log{i}").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    trials = optuna.load_study(study_name="shared", storage=_journal(journal)).get_trials()
    # each worker stops once the study holds 5 trials; starts racing that check add one each
    assert 5 <= len(trials) <= 7
    assert all(t.state.name == "COMPLETE" for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert len(pids) >= 2 and procs[1].pid in pids  # the second process took part
    assert [t.number for t in trials] == list(range(len(trials)))
    for i in range(2):
        assert (tmp_path / f"machine{i}" / "best.yaml").is_file()
        assert "study 'shared'" in logs[i]


def test_a_killed_tune_resumes_and_marks_its_trial_failed(tmp_path: Path) -> None:
    out = tmp_path / "tune"
    # a long first trial, so that the kill lands while it runs
    long = [*TINY[:2], "--budget", "200000", *TINY[4:]]
    proc = _tune([*long, "--trials", "2", "--out", str(out)], tmp_path / "log")
    storage = f"sqlite:///{out / 'study.db'}"
    deadline = time.monotonic() + 60
    running = False
    while time.monotonic() < deadline and not running:
        time.sleep(0.5)
        assert proc.poll() is None, (tmp_path / "log").read_text()
        running = _running_trial_with_pid(out / "study.db")
    assert running, (tmp_path / "log").read_text()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    again = subprocess.run([sys.executable, "-m", "robot_ppo.cli", "tune", *TINY, "--trials",
                            "2", "--out", str(out)], capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert "marked failed: [0]" in again.stderr
    trials = optuna.load_study(study_name="tune-cartpole", storage=storage).get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert "ended before the trial finished" in trials[0].user_attrs["error"]
    assert "FAIL" in (out / "trials.csv").read_text()
