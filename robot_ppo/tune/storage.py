"""Where a study lives: an SQLite file in DIR (default), Optuna's journal file (a shared
filesystem), or an RDB URL (PostgreSQL, MySQL) that several machines reach.

`StorageSpec` is plain data so that worker processes open the storage themselves; `open_storage`
checks it can be reached and turns a missing driver or an unreachable server into one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot_ppo.errors import UserError

DRIVERS = {"postgresql": ("psycopg2", "psycopg2-binary"), "mysql": ("pymysql", "PyMySQL")}
"""URL dialect -> (module SQLAlchemy imports by default, pip package providing it)."""


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


def _driver_error(url: str) -> UserError | None:
    dialect = url.split("://", 1)[0].split("+", 1)
    name = dialect[0]
    module, package = DRIVERS.get(name, (dialect[1] if len(dialect) > 1 else "", ""))
    if not module:
        return None
    try:
        __import__(module)
    except ImportError:
        hint = f"pip install {package or module}"
        return UserError(f"storage {name} URL needs the database driver {module!r}, which is "
                         f"not installed: {hint}")
    return None


def open_storage(spec: StorageSpec) -> Any:
    """The Optuna storage, connected (an unreachable server fails here, before any trial)."""
    import optuna

    if spec.kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage
        path = Path(spec.target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as exc:
            raise UserError(f"cannot open the journal file {spec.target!r}: "
                            f"{exc.strerror or exc}") from None
    missing = _driver_error(spec.target)
    if missing is not None:
        raise missing
    kwargs: dict[str, Any] = {}
    if spec.target.startswith("sqlite"):
        # several processes write one file: wait for the lock instead of failing at once
        kwargs = {"connect_args": {"timeout": 60}}
    elif spec.target.startswith("postgresql"):
        kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    try:
        return optuna.storages.RDBStorage(spec.target, engine_kwargs=kwargs)
    except ModuleNotFoundError as exc:
        raise UserError(f"storage {spec.shown()} needs the Python module {exc.name!r}, "
                        f"which is not installed: pip install {exc.name}") from None
    except Exception as exc:  # sqlalchemy's OperationalError, ArgumentError, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"cannot reach the study storage {spec.shown()}: {first}") from None
