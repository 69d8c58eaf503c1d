"""What a finished search leaves in DIR: best.yaml (a `robot-ppo train --config` file),
trials.csv (every trial), and the one-screen summary of the best trial against the defaults."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from robot_ppo.atomic_write import atomic_write
from robot_ppo.cli_config import apply_overrides, format_value
from robot_ppo.cli_values import flat_dict
from robot_ppo.train.config import TrainConfig

RUN_LOCAL = ("out", "resume", "overwrite", "progress", "tensorboard", "checkpoint_every",
             "workers")
"""Options a tune run sets for its trials only; best.yaml leaves them to `train`."""


def best_config(fixed: TrainConfig, params: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    """best.yaml's mapping: the options that differ from TrainConfig's defaults, with
    `preset: none` so that train applies no preset over them (the values already include
    the robot's preset); RUN_LOCAL options only when the user fixed them (`keep`)."""
    config = apply_overrides(fixed, {**params, "preset": "none"},
                             "the best trial's parameters")
    plain, default = flat_dict(config), flat_dict(TrainConfig())
    return {k: v for k, v in plain.items()
            if (v != default[k] or k in ("robot", "env", "preset", "steps"))
            and (k not in RUN_LOCAL or k in keep) and v is not None}


def write_best(path: Path, data: dict[str, Any], header: str) -> Path:
    text = "".join(f"# {line}\n" for line in header.splitlines())
    return atomic_write(path, text + yaml.safe_dump(data, sort_keys=False))


def write_trials_csv(path: Path, trials: list[Any]) -> Path:
    names: list[str] = []
    for t in trials:
        names += [n for n in t.params if n not in names]
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["number", "state", "value", "duration_s", "env_steps", "train_s",
                  *names, "evaluations", "error", "host"])
    for t in sorted(trials, key=lambda t: t.number):
        took = round((t.datetime_complete - t.datetime_start).total_seconds(), 2) \
            if t.datetime_complete and t.datetime_start else ""
        out.writerow([t.number, t.state.name, "" if t.value is None else t.value, took,
                      t.user_attrs.get("env_steps", ""), t.user_attrs.get("train_s", ""),
                      *[format_value(t.params[n]) if n in t.params else "" for n in names],
                      _evaluations(t.user_attrs.get("evaluations", [])),
                      t.user_attrs.get("error", ""), t.user_attrs.get("host", "")])
    return atomic_write(path, buf.getvalue())


def _evaluations(pairs: list[list[float]]) -> str:
    """A trial's learning curve in one cell: "steps:score" of each evaluation, in order."""
    return " ".join(f"{int(steps)}:{score}" for steps, score in pairs)


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else format_value(value)


def summary(study: Any, header: list[str], defaults: dict[str, Any],
            default_trial: Any | None) -> str:
    """The one-screen summary: counts, the best trial and the defaults side by side."""
    from optuna.trial import TrialState

    counts = {s: len(study.get_trials(deepcopy=False, states=(s,)))
              for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    lines = [*header, f"trials: {counts[TrialState.COMPLETE]} complete, "
             f"{counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAIL]} failed"]
    try:
        best = study.best_trial
    except ValueError:
        return "\n".join([*lines, "no trial completed: nothing to recommend (see the failed "
                                  "trials' errors above and in trials.csv)"])
    if default_trial is not None and default_trial.value is not None:
        base = f"trial {default_trial.number}: {default_trial.value:.4g}"
    elif default_trial is not None:
        base = f"trial {default_trial.number}, {default_trial.state.name.lower()}"
    else:
        base = "not measured (outside the space)"
    lines.append(f"best: trial {best.number}: {best.value:.4g}    defaults: {base}")
    width = max(len(n) for n in [*best.params, "parameter"])
    lines.append(f"  {'parameter'.ljust(width)}  {'defaults':>12}  {'best':>12}")
    for name, value in best.params.items():
        lines.append(f"  {name.ljust(width)}  {_cell(defaults.get(name, '')):>12}  "
                     f"{_cell(value):>12}")
    return "\n".join(lines)
