"""The command's two phases after the checks: run the search with progress on stderr, then
write the results and print the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robot_ppo.cli_values import get_value
from robot_ppo.tune.plots import write_plots
from robot_ppo.tune.progress import Reporter
from robot_ppo.tune.results import (
    RUN_LOCAL,
    best_config,
    summary,
    write_best,
    write_trials_csv,
)
from robot_ppo.tune.workers import WorkerPlan, run_workers


def search(plan: WorkerPlan, jobs: int, storage: Any, study: Any) -> list[int]:
    """Run the workers, one stderr line per finished trial; their exit codes."""
    reporter = Reporter(study, plan.trials)
    try:
        return run_workers(plan, jobs, storage, reporter.poll)
    finally:
        reporter.close()


def finish(study: Any, out: Path, fixed: Any, given: set[str], header: list[str],
           plots: bool) -> bool:
    """best.yaml, trials.csv, plots/ and the summary on stdout; False when no trial
    completed (then there is no best.yaml)."""
    trials = study.get_trials(deepcopy=False)
    written = [write_trials_csv(out / "trials.csv", trials)]
    default_trial = next((t for t in trials if t.user_attrs.get("defaults")), None)
    names = [n for t in trials for n in t.params]
    defaults = {n: get_value(fixed, n) for n in dict.fromkeys(names)}
    notes: list[str] = []
    ok = True
    try:
        best = study.best_trial
    except ValueError:
        ok = False
    if ok:
        data = best_config(fixed, best.params, given & set(RUN_LOCAL))
        written.insert(0, write_best(
            out / "best.yaml", data,
            f"robot-ppo tune: best trial {best.number} of study {study.study_name!r} "
            f"(value {best.value:.6g}).\nTrain with: robot-ppo train --config "
            f"{out / 'best.yaml'}"))
    if plots and trials:
        pngs, notes = write_plots(study, out / "plots")
        written += pngs
    print(summary(study, header, defaults, default_trial))
    for note in notes:
        print(f"note: {note}")
    print("wrote: " + ", ".join(str(p) for p in written))
    if ok:
        print(f"train the best settings: robot-ppo train --config {out / 'best.yaml'}")
    return ok
