"""The search space: plain data read from YAML, checked against TrainConfig before any trial.

File format (docs/tuning.md):

    budget: 20480          # optional: env steps per trial
    eval_every: 5120       # optional: env steps between evaluations
    params:
      lr: {low: 1.0e-4, high: 3.0e-3, log: true}   # a range: float or int by the option's type
      epochs: {low: 3, high: 10}
      hidden: {choices: ["32,32", "64,64"]}         # categorical: values as in --set
      kl_mode: {choices: [none, adaptive]}

Any TrainConfig option except those a tune run decides itself (TUNE_OWNED) can be a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, get_origin

from robot_ppo.cli_config import convert, format_value, load_yaml_mapping, strip_optional
from robot_ppo.cli_values import get_value, leaf_types, leaves
from robot_ppo.errors import UserError
from robot_ppo.train.config import TrainConfig

TUNE_OWNED = ("robot", "env", "out", "resume", "overwrite", "steps", "preset", "progress",
              "tensorboard", "checkpoint_every", "seed")
"""TrainConfig options a tune run sets itself (the budget is --budget; every trial trains with
--seed), so a space may not search them."""


def tunable_names() -> list[str]:
    return [name for name in leaves(TrainConfig) if name not in TUNE_OWNED]


@dataclass(frozen=True)
class Param:
    """One searched option: a range (`low`..`high`, `log` scale, int `step`) or `choices`."""

    name: str
    kind: str
    """"float", "int" or "categorical"."""
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: int | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """The trial's value (optuna's suggest_* API), raw as `--set` would take it."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high),
                                     step=self.step or 1, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def contains(self, value: Any) -> bool:
        """Whether `value` (a TrainConfig value) lies in the space, as this param writes it."""
        if self.kind == "categorical":
            return self.raw(value) in self.choices
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    def raw(self, value: Any) -> Any:
        """A TrainConfig value as this param's choices write it (a tuple as `64,64`)."""
        if self.kind != "categorical":
            return value
        for choice in self.choices:
            if convert(self.name, _field_type(self.name), choice) == value:
                return choice
        return format_value(value)


@dataclass(frozen=True)
class SearchSpace:
    params: tuple[Param, ...]
    budget: int | None = None
    eval_every: int | None = None
    source: str = ""

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {p.name: p.suggest(trial) for p in self.params}

    def defaults(self, config: TrainConfig) -> dict[str, Any] | None:
        """`config`'s values of the params as a trial's params, or None when one lies outside
        the space (then the defaults cannot be measured as a trial of this study)."""
        values = {p.name: get_value(config, p.name) for p in self.params}
        if not all(p.contains(values[p.name]) for p in self.params):
            return None
        return {p.name: p.raw(values[p.name]) for p in self.params}


def _field_type(name: str) -> Any:
    return strip_optional(leaf_types(TrainConfig)[name])[0]


def _number(where: str, key: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise UserError(f"{where}: {key} must be a number, got {raw!r}")
    try:
        return float(raw)
    except ValueError:
        raise UserError(f"{where}: {key} must be a number, got {raw!r}") from None


def parse_param(name: str, entry: Any, source: str) -> Param:
    where = f"search space {source}, parameter {name!r}"
    valid = tunable_names()
    if name not in valid:
        owned = f" ({name} is set by tune itself)" if name in TUNE_OWNED else ""
        raise UserError(f"{where}: unknown parameter{owned}. Valid ones: {', '.join(valid)}")
    if not isinstance(entry, dict):
        raise UserError(f"{where}: give a mapping, {{low: A, high: B}} or {{choices: [...]}}")
    known = {"low", "high", "log", "step", "choices"}
    extra = sorted(set(entry) - known)
    if extra:
        raise UserError(f"{where}: unknown key(s) {', '.join(extra)}; known: "
                        f"{', '.join(sorted(known))}")
    tp = _field_type(name)
    if "choices" in entry:
        choices = entry["choices"]
        if not isinstance(choices, list) or not choices:
            raise UserError(f"{where}: choices must be a non-empty list")
        for choice in choices:
            if not isinstance(choice, (str, int, float, bool)):
                raise UserError(f"{where}: choice {choice!r} must be a scalar (write "
                                "a tuple as a string, e.g. \"64,64\")")
            try:
                convert(name, tp, choice)
            except UserError as exc:
                raise UserError(f"{where}: {exc}") from None
        return Param(name, "categorical", choices=tuple(choices))
    if tp not in (int, float) or get_origin(tp) is not None:
        raise UserError(f"{where}: a {getattr(tp, '__name__', tp)} option takes "
                        "{choices: [...]}, not a range")
    if "low" not in entry or "high" not in entry:
        raise UserError(f"{where}: a range needs low and high (or give choices)")
    low, high = _number(where, "low", entry["low"]), _number(where, "high", entry["high"])
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise UserError(f"{where}: log must be true or false, got {log!r}")
    if low >= high:
        raise UserError(f"{where}: low {low:g} must be below high {high:g}")
    if log and low <= 0:
        raise UserError(f"{where}: a log scale needs a positive range, got low {low:g}; "
                        "use log: false or a low above 0")
    step = entry.get("step")
    if tp is int:
        if not (low.is_integer() and high.is_integer()):
            raise UserError(f"{where}: {name} is an integer option; low and high must be "
                            "whole numbers")
        if step is not None and (not isinstance(step, int) or step < 1 or log):
            raise UserError(f"{where}: step must be a whole number >= 1, without log")
        return Param(name, "int", low=low, high=high, log=log, step=step)
    if step is not None:
        raise UserError(f"{where}: step applies to integer options only")
    return Param(name, "float", low=low, high=high, log=log)


def _optional_int(data: dict[str, Any], key: str, source: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"search space {source}: {key} must be a whole number >= 1, "
                        f"got {value!r}")
    return value


def parse_space(data: dict[str, Any], source: str) -> SearchSpace:
    extra = sorted(set(data) - {"params", "budget", "eval_every"})
    if extra:
        raise UserError(f"search space {source}: unknown key(s) {', '.join(extra)}; "
                        "known: params, budget, eval_every")
    params = data.get("params")
    if not isinstance(params, dict) or not params:
        raise UserError(f"search space {source}: `params` must map option names to "
                        "ranges, e.g. params: {lr: {low: 1.0e-4, high: 3.0e-3, log: true}}")
    return SearchSpace(tuple(parse_param(str(k), v, source) for k, v in params.items()),
                       budget=_optional_int(data, "budget", source),
                       eval_every=_optional_int(data, "eval_every", source), source=source)


def default_space_path(robot: str | None) -> Path:
    """The space shipped for `robot` (robot_ppo/tune/spaces/<name>.yaml), else default.yaml."""
    folder = resources.files("robot_ppo.tune") / "spaces"
    if robot:
        own = folder / f"{robot}.yaml"
        if own.is_file():
            return Path(str(own))
    return Path(str(folder / "default.yaml"))


def load_space(path: Path) -> SearchSpace:
    return parse_space(load_yaml_mapping(path, "search space"), str(path))
