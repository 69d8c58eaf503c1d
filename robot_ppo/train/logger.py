"""Metrics sinks: DIR/metrics.csv always (plain, read by `robot-ppo plot` and tests) and
TensorBoard scalars when enabled. The trainer hands it one flat dict per iteration."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

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
        self._fh = self.path.open("w" if new_file else "a", newline="")
        self._csv = csv.writer(self._fh)
        if new_file:
            self._csv.writerow(COLUMNS)
            self._fh.flush()
        self._tb: Any = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional: the CSV has everything
                self._tb = None
            else:
                self._tb = SummaryWriter(log_dir=str(out_dir / "tb"))

    def log(self, row: dict[str, float]) -> None:
        self._csv.writerow(["" if row.get(c) is None else row[c] for c in COLUMNS])
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
                    self._tb.add_scalar(f"{group}/{key}", value, step)

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()
