"""PNG figures of a study with Optuna's matplotlib backend: optimization history, parameter
importances (fANOVA, Optuna's own), parallel coordinates. A figure the study cannot have yet
(importances need two complete trials with differing parameters) is skipped with a note."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def write_plots(study: Any, folder: Path) -> tuple[list[Path], list[str]]:
    """The PNGs written into `folder`, and a note per figure skipped."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as views

    figures: dict[str, Any] = {"optimization_history": views.plot_optimization_history,
               "param_importances": views.plot_param_importances,
               "parallel_coordinate": views.plot_parallel_coordinate}
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    notes: list[str] = []
    for name, plot in figures.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.logging.set_verbosity(optuna.logging.ERROR)
                ax = plot(study)
            fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
            path = folder / f"{name}.png"
            fig.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(fig)
            written.append(path)
        except Exception as exc:  # too few trials for this figure
            notes.append(f"{name}.png skipped: {str(exc).splitlines()[0] if str(exc) else exc}")
    return written, notes
