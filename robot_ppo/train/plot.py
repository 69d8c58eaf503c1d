"""Learning curves from DIR/metrics.csv to a PNG (matplotlib, Agg backend: no display).

Two kinds of run write a metrics.csv: training (one row per iteration, against env steps)
and fine-tuning (`robot_ppo/finetune/runner.py`: a value warm-up row at iteration 0, then
one row per PPO iteration over the same logged data, so against iterations; its KL to the
reference is drawn with the bound from DIR/summary.json).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from robot_ppo.errors import UserError

TRAIN_PANELS = (
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
FINETUNE_PANELS = (
    ("kl_ref", "KL(π‖π_ref)"),
    ("beta", "β (KL penalty weight)"),
    ("policy_loss", "policy loss"),
    ("value_loss", "value loss"),
    ("entropy", "entropy"),
    ("clip_fraction", "clip fraction"),
    ("explained_variance", "explained variance"),
    ("is_weight_mean", "mean importance weight"),
    ("approx_kl_prox", "approx KL to the proximal policy"),
    ("rollbacks", "rollbacks"),
)
LOG_SCALE = frozenset({"value_loss"})
"""Panels drawn on a log axis: the value loss of the first iterations (an untrained critic)
is orders of magnitude above the rest, which a linear axis flattens to a line at zero."""
MARKERS_UP_TO = 30
"""Series of at most this many points also draw a marker per point, so that one iteration
shows up at all (a line through one point draws nothing)."""


def _no_run(path: Path, problem: str) -> UserError:
    return UserError(f"{str(path)!r} {problem}: give a run directory written by robot-ppo "
                     "train or robot-ppo finetune (it contains metrics.csv).")


def read_metrics(path: Path) -> dict[str, list[float]]:
    """Columns of metrics.csv as float lists (empty or non-numeric cells become NaN)."""
    if not path.is_file():
        raise _no_run(path, "does not exist")
    try:
        text = path.read_text(encoding="utf-8")
        if "\x00" in text:  # csv reads NUL as text; no CSV robot-ppo writes has one
            raise csv.Error("it holds NUL bytes")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = reader.fieldnames
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        detail = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise UserError(f"{str(path)!r} is not a text CSV ({detail}): the file is damaged or "
                        "is not a metrics.csv written by robot-ppo.") from None
    if not header:
        raise UserError(f"{str(path)!r} is empty: the run wrote no header; train again, or "
                        "give the run's own directory.")
    if not rows:
        raise UserError(f"{str(path)!r} has no rows yet: the run has not finished an "
                        "iteration.")
    cols: dict[str, list[float]] = {}
    for key in header:
        values = []
        for row in rows:
            try:
                values.append(float(row[key]) if row.get(key) not in ("", None) else math.nan)
            except ValueError:
                values.append(math.nan)
        cols[key] = values
    return cols


def _kl_bound(run_dir: Path, cols: dict[str, list[float]]) -> float | None:
    """The fine-tuning KL bound: a `kl_bound` column if the metrics carry one, else
    summary.json's. A summary that cannot be read only loses the line, not the plot."""
    finite = [v for v in cols.get("kl_bound", []) if not math.isnan(v)]
    if finite:
        return finite[-1]
    try:
        value = json.loads((run_dir / "summary.json").read_text()).get("kl_bound")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed (and none on a robot or a server)
    import matplotlib.pyplot as plt

    return plt


def build_figure(metrics_path: Path) -> Any:
    """The figure of a run's curves (a matplotlib Figure; the caller closes it)."""
    plt = _pyplot()
    cols = read_metrics(metrics_path)
    finetune = "kl_ref" in cols
    panels = [(k, label) for k, label in (FINETUNE_PANELS if finetune else TRAIN_PANELS)
              if k in cols]
    if not panels:
        raise UserError(f"{str(metrics_path)!r} has none of the columns robot-ppo writes "
                        f"(found: {', '.join(cols)}): it is not a run's metrics.csv.")
    if finetune:
        x, xlabel = cols.get("iteration") or list(map(float, range(len(cols["kl_ref"])))), \
            "fine-tuning iteration (0: value warm-up)"
    elif "env_steps" in cols:
        x, xlabel = cols["env_steps"], "env steps"
    else:
        x, xlabel = list(map(float, range(1, len(next(iter(cols.values()))) + 1))), "iteration"
    ncols = 2
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(10, 2.4 * nrows), sharex=True,
                             squeeze=False)
    for ax, (key, label) in zip(axes.flat, panels):
        _draw(ax, x, cols[key], key, label)
        if key == "kl_ref" and (bound := _kl_bound(metrics_path.parent, cols)) is not None:
            ax.axhline(bound, color="tab:red", ls="--", lw=1.0, label=f"bound {bound:g}")
            ax.legend(fontsize=8, loc="best")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    # the bottom visible panel of each column carries the x label (sharex hides the others')
    for col in range(ncols):
        visible = [ax for ax in axes[:, col] if ax.get_visible()]
        if visible:
            visible[-1].set_xlabel(xlabel)
    kind = "fine-tuning" if finetune else "training"
    fig.suptitle(f"{metrics_path.parent.name} ({kind})", fontsize=10)
    fig.tight_layout()
    return fig


def _draw(ax: Any, x: list[float], y: list[float], key: str, label: str) -> None:
    points = [(a, b) for a, b in zip(x, y) if not math.isnan(b)]
    ax.set_title(label, fontsize=9)
    ax.grid(alpha=0.3)
    if not points:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes,
                color="gray")
        return
    marker = "o" if len(points) <= MARKERS_UP_TO else None
    ax.plot(x, y, lw=1.2, marker=marker, ms=3)
    if key in LOG_SCALE and all(b > 0 for _, b in points):
        ax.set_yscale("log")


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """Render the run's curves to a PNG (default DIR/learning_curves.png); returns its path."""
    if run_dir.is_dir():
        metrics_path = run_dir / "metrics.csv"
        if not metrics_path.exists():
            raise _no_run(run_dir, "has no metrics.csv")
    elif not run_dir.exists():
        raise _no_run(run_dir, "does not exist")
    else:
        metrics_path = run_dir
    fig = build_figure(metrics_path)
    out = out or metrics_path.parent / "learning_curves.png"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=100)
    except OSError as exc:
        raise UserError(f"cannot write {str(out)!r}: {exc.strerror or exc}") from None
    finally:
        _pyplot().close(fig)
    return out
