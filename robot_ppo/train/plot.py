"""Learning curves from DIR/metrics.csv to a PNG (matplotlib, Agg backend: no display)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from robot_ppo.errors import UserError

PANELS = (
    ("episode_return", "episode return"),
    ("episode_length", "episode length"),
    ("policy_loss", "policy loss"),
    ("value_loss", "value loss"),
    ("entropy", "entropy"),
    ("approx_kl", "approx KL"),
    ("clip_fraction", "clip fraction"),
    ("explained_variance", "explained variance"),
    ("learning_rate", "learning rate"),
    ("steps_per_s", "env steps/s"),
)


def read_metrics(path: Path) -> dict[str, list[float]]:
    """Columns of metrics.csv as float lists (empty cells become NaN)."""
    if not path.is_file():
        raise UserError(f"{str(path)!r} does not exist: give a run directory written by "
                        "robot-ppo train (it contains metrics.csv).")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise UserError(f"{str(path)!r} has no rows yet: the run has not finished an iteration.")
    cols: dict[str, list[float]] = {}
    for key in rows[0]:
        values = []
        for row in rows:
            try:
                values.append(float(row[key]) if row[key] not in ("", None) else math.nan)
            except ValueError:
                values.append(math.nan)
        cols[key] = values
    return cols


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """Render the run's curves against env steps; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics_path = run_dir / "metrics.csv" if run_dir.is_dir() else run_dir
    cols = read_metrics(metrics_path)
    out = out or metrics_path.parent / "learning_curves.png"
    x = cols.get("env_steps") or list(range(len(next(iter(cols.values())))))
    panels = [(k, label) for k, label in PANELS if k in cols]
    ncols = 2
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(10, 2.4 * nrows), sharex=True,
                             squeeze=False)
    for ax, (key, label) in zip(axes.flat, panels):
        ax.plot(x, cols[key], lw=1.2)
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("env steps")
    fig.suptitle(str(metrics_path.parent.name), fontsize=10)
    fig.tight_layout()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100)
    except OSError as exc:
        raise UserError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return out
