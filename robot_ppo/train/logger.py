"""Metrics sinks: DIR/metrics.csv always (plain, read by `robot-ppo plot` and tests) and
TensorBoard scalars when enabled. The trainer hands it one flat dict per iteration.

Keys with a "/" (env-reported episode metrics such as `adr/entropy`) become extra columns
after COLUMNS, in order of first appearance; when a new one appears the file is rewritten
with the wider header (rare: once per new key), so every row stays aligned."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from robot_ppo.atomic_write import atomic_write

# Column order of metrics.csv; the plot command and tests rely on these names.
COLUMNS = (
    "iteration", "env_steps", "wall_s", "steps_per_s", "episode_return", "episode_length",
    "policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction",
    "explained_variance", "learning_rate", "updates", "stopped_early",
)


class MetricsLogger:
    def __init__(self, out_dir: Path, tensorboard: bool, append: bool = False) -> None:
        self.path = out_dir / "metrics.csv"
        new_file = not (append and self.path.is_file())
        self.columns = list(COLUMNS)
        if not new_file:
            with self.path.open(newline="") as fh:
                header = next(csv.reader(fh), [])
            self.columns += [c for c in header if c not in COLUMNS]
        self._fh = self.path.open("w" if new_file else "a", newline="")
        self._csv = csv.writer(self._fh)
        if new_file:
            self._csv.writerow(self.columns)
            self._fh.flush()
        self._tb: Any = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional: the CSV has everything
                self._tb = None
            else:
                self._tb = SummaryWriter(log_dir=str(out_dir / "tb"))

    def _widen(self, new: list[str]) -> None:
        """Rewrite the file with `new` extra columns (old rows get empty cells), atomically:
        a crash while rewriting leaves the old rows whole."""
        self._fh.close()
        with self.path.open(newline="") as fh:
            rows = list(csv.reader(fh))[1:]
        self.columns += new
        buf = io.StringIO(newline="")
        table = csv.writer(buf)
        table.writerow(self.columns)
        table.writerows(r + [""] * (len(self.columns) - len(r)) for r in rows)
        atomic_write(self.path, buf.getvalue())
        self._fh = self.path.open("a", newline="")
        self._csv = csv.writer(self._fh)

    def log(self, row: dict[str, float]) -> None:
        new = [k for k in row if "/" in k and k not in self.columns]
        if new:
            self._widen(new)
        self._csv.writerow(["" if row.get(c) is None else row[c] for c in self.columns])
        self._fh.flush()
        if self._tb is not None:
            step = int(row["env_steps"])
            for key, value in row.items():
                if key in ("iteration", "env_steps") or value is None:
                    continue
                if isinstance(value, (int, float)) and not math.isnan(value):
                    group = "train" if key in ("episode_return", "episode_length") else "loss"
                    if key in ("steps_per_s", "wall_s", "learning_rate"):
                        group = "perf"
                    tag = key if "/" in key else f"{group}/{key}"  # adr/entropy stays as is
                    self._tb.add_scalar(tag, value, step)

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()
