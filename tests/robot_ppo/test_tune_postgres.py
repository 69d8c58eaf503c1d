"""Slow tier: a study shared through a real PostgreSQL server, which the test starts itself
(Debian's `postgresql` package: initdb and pg_ctl into a temporary directory, loopback only),
by two separately started `tune` processes with two worker processes each. Skips, saying why,
where the server cannot be started or the psycopg2 driver is missing."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
pytestmark = pytest.mark.slow

TINY = ["--robot", "cartpole", "--budget", "512", "--eval-every", "256", "--eval-episodes", "1",
        "--set", "envs=2", "--set", "rollout_steps=128", "--plots", "false"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver psycopg2 is not installed "
                        "(pip install psycopg2-binary)")
    # Debian keeps the server tools off PATH, in /usr/lib/postgresql/<major>/bin
    search = os.pathsep.join([os.environ.get("PATH", ""),
                              *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)])
    initdb, pg_ctl = shutil.which("initdb", path=search), shutil.which("pg_ctl", path=search)
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL's initdb/pg_ctl were found neither on PATH nor in "
                    "/usr/lib/postgresql/*/bin (apt install postgresql)")
    # PostgreSQL refuses to run as root: then run it as the `postgres` user
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: cannot start PostgreSQL as a user")
    folder = Path(tempfile.mkdtemp(prefix="tune-pg-"))
    if as_user:
        shutil.chown(folder, "postgres")
    port = _free_port()
    data = folder / "data"

    def run(*cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)

    try:
        made = run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres")
        if made.returncode != 0:
            pytest.skip(f"initdb failed: {made.stderr.strip().splitlines()[-1:]}")
        started = run(pg_ctl, "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o",
                      f"-h 127.0.0.1 -p {port} -k {folder}", "start")
        if started.returncode != 0:
            pytest.skip(f"PostgreSQL did not start: {started.stdout.strip()[-200:]}")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_two_tune_processes_with_two_workers_share_a_postgres_study(
        postgres_url: str, tmp_path: Path) -> None:
    procs = []
    for i in range(2):
        log = (tmp_path / f"log{i}").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "robot_ppo.cli", "tune", *TINY, "--trials", "6", "--jobs",
             "2", "--study", "lab", "--storage", postgres_url, "--out",
             str(tmp_path / f"machine{i}")], stdout=log, stderr=subprocess.STDOUT))
    codes = [p.wait(timeout=300) for p in procs]
    logs = [(tmp_path / f"log{i}").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    # tune picks the installed driver itself; here it is named (SQLAlchemy >= 2.1 defaults
    # postgresql:// to psycopg 3)
    direct = postgres_url.replace("postgresql://", "postgresql+psycopg2://")
    trials = optuna.load_study(study_name="lab", storage=direct).get_trials()
    assert 6 <= len(trials) <= 9  # 4 workers; each start racing the count adds at most one
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) >= 3  # workers of both processes
    assert [t.number for t in trials] == list(range(len(trials)))
    for i in range(2):
        assert (tmp_path / f"machine{i}" / "best.yaml").is_file()
