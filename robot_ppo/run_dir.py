"""The output-directory rule of every command that writes a run (train, finetune, demo).

Results are never lost (issue 25 item 1):
  - an existing directory that holds anything is refused, with a one-line error that
    names it and the ways out (a new --out, --overwrite, and for train --resume);
  - `--overwrite` removes the old run's files first, so no stale file (an old
    learning_curves.png) sits next to the new ones; it removes only what looks like a
    robot_ppo run, never the working directory or a folder above it, and never a
    directory that holds one of the command's own inputs;
  - `train --resume D/checkpoint.pt --out D` continues a run in its own directory;
  - a directory a command must never write into (finetune: its reference checkpoint's)
    is refused even with --overwrite.
Paths are compared resolved, so `./D`, an absolute path and a symlink to D are one
directory. `check_run_dir` only looks (call it before anything else is done);
`prepare_run_dir` checks again, clears on --overwrite and creates the directory (call it
right before the first file is written).

Light core: stdlib only.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from robot_ppo.errors import UserError

RUN_FILES = ("checkpoint.pt", "config.yaml", "metrics.csv", "summary.json", "tb",
             "learning_curves.png", "policy.onnx", "demo_summary.json", "loop_stats.json",
             "train", "rollouts")
"""Entries one of the commands writes; --overwrite clears a directory only if it holds one
of them (anything else is not a robot_ppo run, and not ours to delete)."""


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def check_run_dir(out: Path, *, overwrite: bool, ways_out: str, continuing: Path | None = None,
                  inputs: Sequence[Path] = (), forbidden: Path | None = None,
                  forbidden_why: str = "") -> None:
    """UserError unless `out` may receive a run. `ways_out`: the command's own options, for
    the message (e.g. "choose a new --out, or give --overwrite"; `{out}` becomes the
    directory); `continuing`: the
    directory of the checkpoint that --resume continues (may be `out` itself);
    `inputs`: files and directories the command reads (never removed by --overwrite);
    `forbidden`: a directory never to write into, even with --overwrite (why: its reason).
    Looks only: creates and removes nothing."""
    real = out.resolve()
    if out.exists() and not out.is_dir():
        raise UserError(f"the output directory {str(out)!r} is a file; choose another --out.")
    if forbidden is not None and real == forbidden.resolve():
        raise UserError(f"will not write into {str(out)!r}: {forbidden_why}; choose another "
                        "--out (even --overwrite does not lift this).")
    entries = _entries(out)
    if not entries:
        return
    if continuing is not None and real == continuing.resolve():
        if overwrite:
            raise UserError(f"--overwrite would delete the run that --resume continues in "
                            f"{str(out)!r}; drop --overwrite to continue it in place, or "
                            "choose a new --out.")
        return  # continuing a run in its own directory: its checkpoint is replaced atomically
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    if not overwrite:
        raise UserError(f"the output directory {str(out)!r} already holds files ({shown}); "
                        f"nothing was changed: {ways_out.format(out=out)}.")
    cwd = Path.cwd().resolve()
    if _inside(cwd, real):
        raise UserError(f"--overwrite will not clear {str(out)!r}: it is the working "
                        "directory or holds it; choose a new --out.")
    if not any(name in RUN_FILES for name in entries):
        raise UserError(f"--overwrite will not clear {str(out)!r}: it holds {shown}, which is "
                        "not a robot_ppo run; choose a new --out.")
    for item in inputs:
        if _inside(item.resolve(), real):
            raise UserError(f"--overwrite would delete {str(item)!r}, an input of this "
                            f"command, inside {str(out)!r}; choose a new --out.")


def prepare_run_dir(out: Path, *, overwrite: bool, ways_out: str,
                    continuing: Path | None = None, inputs: Sequence[Path] = (),
                    forbidden: Path | None = None, forbidden_why: str = "") -> Path:
    """Check again (see check_run_dir), remove the old run's files on --overwrite, create
    the directory; returns `out`."""
    check_run_dir(out, overwrite=overwrite, ways_out=ways_out, continuing=continuing,
                  inputs=inputs, forbidden=forbidden, forbidden_why=forbidden_why)
    resumed_here = continuing is not None and out.resolve() == continuing.resolve()
    try:
        if overwrite and not resumed_here and out.is_dir():
            for entry in out.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write to the output directory {str(out)!r}: "
                        f"{exc.strerror or exc}. Choose another with --out DIR.") from None
    return out


def fresh_run_dir(base: Path) -> Path:
    """`base` when it does not exist or is empty, else the first free `base-2`, `base-3`...
    (a default run directory never replaces an earlier run)."""
    if not _entries(base) and not (base.exists() and not base.is_dir()):
        return base
    k = 2
    while True:
        candidate = base.with_name(f"{base.name}-{k}")
        if not candidate.exists() or (candidate.is_dir() and not _entries(candidate)):
            return candidate
        k += 1
