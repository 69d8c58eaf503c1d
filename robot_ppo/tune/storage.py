"""Where a study lives: an SQLite file in DIR (default), Optuna's journal file (a shared
filesystem), or an RDB URL (PostgreSQL, MySQL) that several machines reach.

`StorageSpec` is plain data so that worker processes open the storage themselves; `open_storage`
checks it can be reached and turns a missing driver or an unreachable server into one line.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot_ppo.errors import UserError

DRIVERS = {"psycopg2": ("psycopg2", "psycopg2-binary"), "psycopg": ("psycopg", "psycopg[binary]"),
           "pymysql": ("pymysql", "PyMySQL"), "mysqldb": ("MySQLdb", "mysqlclient")}
"""SQLAlchemy driver name -> (Python module, pip package that provides it)."""
ALTERNATIVES = {"postgresql": ("psycopg2", "psycopg"), "mysql": ("pymysql", "mysqldb")}
"""Drivers a URL without `+driver` may use, the one to install first."""


@dataclass(frozen=True)
class StorageSpec:
    kind: str
    """"rdb" (an SQLAlchemy URL, SQLite included) or "journal" (a journal file path)."""
    target: str

    def shown(self) -> str:
        """The target as it may be printed: an RDB URL without its password."""
        if self.kind == "journal":
            return self.target
        try:
            from sqlalchemy.engine import make_url
            return make_url(self.target).render_as_string(hide_password=True)
        except Exception:  # not a URL sqlalchemy can parse: open_storage says so
            return self.target


def resolve(storage: str | None, out: Path) -> StorageSpec:
    if not storage:
        return StorageSpec("rdb", f"sqlite:///{(out / 'study.db').resolve()}")
    if storage == "journal":
        return StorageSpec("journal", str((out / "journal.log").resolve()))
    if "://" in storage:
        return StorageSpec("rdb", storage)
    if storage.endswith(".log"):
        return StorageSpec("journal", str(Path(storage).resolve()))
    raise UserError(f"--storage {storage!r} is neither `journal`, a journal file ending .log, "
                    "nor a database URL (sqlite:///FILE, postgresql://user:pass@host/db)")


def _installed(driver: str) -> bool:
    import importlib.util

    module = DRIVERS.get(driver, (driver, driver))[0]
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def with_driver(url: str, shown: str) -> str:
    """`url` with an installed database driver made explicit (SQLAlchemy's default for
    postgresql:// is psycopg 3 since 2.1, many installs have psycopg2); UserError naming the
    driver to install when none is."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"--storage {shown!r} is not a database URL (e.g. "
                        "postgresql://user:pass@host/db or sqlite:///FILE)") from None
    backend, _, driver = parsed.drivername.partition("+")
    if driver:
        if driver in DRIVERS and not _installed(driver):
            module, package = DRIVERS[driver]
            raise UserError(f"storage {backend} URL needs the database driver {module!r}, "
                            f"which is not installed: pip install {package}")
        return url
    choices = ALTERNATIVES.get(backend, ())
    if not choices:
        return url
    for name in choices:
        if _installed(name):
            return parsed.set(drivername=f"{backend}+{name}").render_as_string(
                hide_password=False)
    first, other = (DRIVERS[c] for c in choices)
    raise UserError(f"storage {backend} URL needs a database driver ({first[0]!r} or "
                    f"{other[0]!r}), none is installed: pip install {first[1]}")


def open_storage(spec: StorageSpec) -> Any:
    """The Optuna storage, connected (an unreachable server fails here, before any trial)."""
    if spec.kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage
        path = Path(spec.target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as exc:
            raise UserError(f"cannot open the journal file {spec.target!r}: "
                            f"{exc.strerror or exc}") from None
    url = with_driver(spec.target, spec.shown())
    kwargs: dict[str, Any] = {}
    if spec.target.startswith("sqlite"):
        # several processes write one file: wait for the lock instead of failing at once
        kwargs = {"connect_args": {"timeout": 60}}
    elif spec.target.startswith("postgresql"):
        kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    try:
        return _rdb(url, kwargs)
    except ModuleNotFoundError as exc:
        raise UserError(f"storage {spec.shown()} needs the Python module {exc.name!r}, "
                        f"which is not installed: pip install {exc.name}") from None
    except Exception as exc:  # sqlalchemy's OperationalError, ArgumentError, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"cannot reach the study storage {spec.shown()}: {first}") from None


def _rdb(url: str, engine_kwargs: dict[str, Any], attempts: int = 5) -> Any:
    """RDBStorage; retried when another process is creating the same tables at this moment
    (two `tune` started together on an empty PostgreSQL database race on CREATE TABLE)."""
    import optuna

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except Exception as exc:
            racing = any(word in str(exc) for word in ("duplicate key", "already exists"))
            if not racing or attempt == attempts - 1:
                raise
            time.sleep(0.5 + random.random())
    raise AssertionError("unreachable")
