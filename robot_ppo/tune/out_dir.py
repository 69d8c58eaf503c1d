"""The output-directory rule of `tune`: a directory that holds files is refused, unless it holds
this same study (then the run resumes it, or joins it as a second process) or --overwrite is
given (then only tune's own files are removed; anything else in it is left alone).

DIR/tune.yaml names the study and its storage; it is how a later run recognizes its study."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from robot_ppo.atomic_write import atomic_write
from robot_ppo.errors import UserError

MANIFEST = "tune.yaml"
TUNE_FILES = (MANIFEST, "study.db", "journal.log", "trials", "best.yaml", "trials.csv",
              "plots")
"""What `tune` writes into DIR (the journal's lock file is next to journal.log)."""


def read_manifest(out: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((out / MANIFEST).read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def check_out_dir(out: Path, study: str, storage: str, overwrite: bool) -> bool:
    """UserError unless `out` may hold this study; True when it already does (resume/join).
    With --overwrite, removes tune's files of another study first."""
    if out.exists() and not out.is_dir():
        raise UserError(f"the output directory {str(out)!r} is a file; choose another --out.")
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if not entries:
        return False
    manifest = read_manifest(out)
    if manifest.get("study") == study and manifest.get("storage") == storage and not overwrite:
        return True
    ours = [e for e in entries if e in TUNE_FILES or e.startswith("journal.log")]
    held = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    if not overwrite:
        what = (f"study {manifest.get('study')!r}" if manifest else f"files ({held})")
        raise UserError(f"the output directory {str(out)!r} already holds {what}; nothing was "
                        f"changed. Resume it with the same --study and --storage, choose a "
                        "new --out, or replace it with --overwrite.")
    if not ours:
        raise UserError(f"--overwrite will not clear {str(out)!r}: it holds {held}, which is "
                        "not a tune directory; choose a new --out.")
    for name in ours:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return False


def write_manifest(out: Path, data: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / MANIFEST, yaml.safe_dump(data, sort_keys=False))
