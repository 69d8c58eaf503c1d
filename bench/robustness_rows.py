"""The rows of bench/robustness.py as data: one YAML file per row in bench/robustness/rows/,
the per-robot budgets and the default rows in bench/robustness/bench.yaml.

A row file holds

    dynamics: adr                  # `robot-ppo train --dynamics`
    observe_last_action: true      # train on the built-in spec + a last_action term
    reward_params: {tracking_sigma: 0.1}   # reward-only task params of the training spec
    robots: [quadruped]            # the robots it applies to (default: every robot)
    init: other_row                # continue that row's run of the same robot and seed
    train: {recurrent: gru, adr_fixed: [friction]}   # `robot-ppo train --set` keys
    runs:                          # beyond the robot's budget: more seeds, other budgets
      quadruped: [{steps: 1000000, seeds: 4}]

Only what the docs report is kept; rejected rows are in docs/robustness_history.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent / "robustness"
ROW_KEYS = ("dynamics", "observe_last_action", "reward_params", "robots", "init", "train",
            "runs")


@dataclass(frozen=True)
class Budget:
    steps: int
    """Env steps per training."""
    seeds: int
    """Training seeds per row."""
    episodes: int
    """Evaluation episodes per (seed, dynamics set)."""
    extra: tuple[tuple[str, int, int], ...] = ()
    """(row, steps, seeds): a row beyond the grid (another budget, run directory
    <row>_<steps/1000>k), or more seeds for a row of it (same steps); from the rows' `runs`."""


@dataclass(frozen=True)
class Row:
    name: str
    """The file's stem: what `--variants` selects and results.json keys."""
    dynamics: str
    """`robot-ppo train --dynamics`."""
    observe_last_action: bool = False
    """Train on the built-in spec with one frame that also observes the last action (what a
    GRU sees; with action latency the policy cannot otherwise know the commands in flight)."""
    reward_params: dict[str, float] = field(default_factory=dict)
    """Reward-only task params the training spec changes (a derived spec named for them);
    every row is scored with the task's own reward."""
    robots: tuple[str, ...] = ()
    """The robots this row applies to; empty: every robot."""
    init: str = ""
    """The row whose run of the same robot and seed, at the robot's budget, this one
    continues (`robot-ppo train --resume`); its steps count that run's too, so such a row
    exists only above the budget (its `runs`, or `--steps`). Empty: from scratch."""
    train: dict[str, Any] = field(default_factory=dict)
    """Options of `robot-ppo train`, keys as `--set` takes them."""
    runs: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    """Per robot, (steps, seeds) beyond its budget."""

    def args(self) -> list[str]:
        """`--set key=value` for each option of `train`."""
        out: list[str] = []
        for key, value in self.train.items():
            if isinstance(value, (list, tuple)):
                text = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                text = "true" if value else "false"
            else:
                text = str(value)
            out += ["--set", f"{key}={text}"]
        return out

    def applies_to(self, robot: str) -> bool:
        return not self.robots or robot in self.robots


def _fail(path: Path, message: str) -> SystemExit:
    return SystemExit(f"{path}: {message}")


def load_row(path: Path) -> Row:
    """One row file, checked: known keys, `train` keys that `robot-ppo train` has."""
    from robot_ppo.cli_values import leaves
    from robot_ppo.train.config import TrainConfig

    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or "dynamics" not in data:
        raise _fail(path, "a row is a mapping with at least `dynamics:`")
    unknown = sorted(set(data) - set(ROW_KEYS))
    if unknown:
        raise _fail(path, f"unknown key(s) {unknown}; known: {', '.join(ROW_KEYS)}")
    options = set(leaves(TrainConfig))
    train = dict(data.get("train") or {})
    bad = sorted(k for k in train if k.replace("-", "_") not in options)
    if bad:
        raise _fail(path, f"train: {bad} are not options of robot-ppo train")
    runs = {robot: tuple((int(r["steps"]), int(r["seeds"])) for r in items)
            for robot, items in (data.get("runs") or {}).items()}
    return Row(name=path.stem, dynamics=str(data["dynamics"]),
               observe_last_action=bool(data.get("observe_last_action", False)),
               reward_params={k: float(v) for k, v in (data.get("reward_params") or {}).items()},
               robots=tuple(data.get("robots") or ()), init=str(data.get("init") or ""),
               train=train, runs=runs)


def load_rows(rows_dir: Path = HERE / "rows") -> dict[str, Row]:
    """Every row file, by name; a row's `init` must name another row."""
    rows = {p.stem: load_row(p) for p in sorted(rows_dir.glob("*.yaml"))}
    for row in rows.values():
        if row.init and row.init not in rows:
            raise _fail(rows_dir / f"{row.name}.yaml", f"init: no row {row.init!r}")
    return rows


def load_bench(path: Path = HERE / "bench.yaml"
               ) -> tuple[dict[str, Budget], dict[str, str], tuple[str, ...]]:
    """(budgets per robot, reference set per robot, default rows) from bench.yaml, each
    budget's `extra` gathered from the rows' `runs`."""
    data = yaml.safe_load(path.read_text())
    rows = load_rows(path.parent / "rows")
    budgets, reference = {}, {}
    for robot, b in data["budgets"].items():
        extra = tuple((name, steps, seeds) for name, row in rows.items()
                      for steps, seeds in row.runs.get(robot, ()))
        budgets[robot] = Budget(int(b["steps"]), int(b["seeds"]), int(b["episodes"]), extra)
        if b.get("reference"):
            reference[robot] = str(b["reference"])
    default = tuple(data["default_rows"])
    missing = [n for n in default if n not in rows]
    if missing:
        raise _fail(path, f"default_rows: no row file for {missing}")
    return budgets, reference, default


ROWS = load_rows()
BUDGETS, REFERENCE, DEFAULT_ROWS = load_bench()


def row_spec(robot: str, row: Row, out: Path, scored: bool = False) -> str:
    """The `--robot` argument for a row: the built-in name, or a YAML derived from it
    (written into `out`) that observes the last action and/or changes reward-only params
    (`scored`: without those, as every row is evaluated)."""
    from robot_ppo.spec import BUILTIN_DIR, load_spec

    data = load_spec(robot).to_dict()
    name = robot
    if row.observe_last_action:
        terms = data["observation"]["terms"]
        has_last = any(t["name"] == "last_action" for t in terms)
        # (the quadruped's built-in already observes last_action with one frame)
        if data["observation"]["history"] != 1 or not has_last:
            if not has_last:
                terms.append({"name": "last_action", "scale": 1.0, "noise": 0.0})
            data["observation"]["history"] = 1
            name = f"{robot}_history1_lastaction"
    if row.reward_params and not scored:
        data["task"]["params"].update(row.reward_params)
        name += "".join(f"_{k}{w:g}" for k, w in row.reward_params.items())
    if name == robot:
        return robot
    data["name"] = name
    urdf = BUILTIN_DIR / data["urdf"]
    if urdf.is_file():  # else a pybullet_data name (the quadruped's), found by search path
        data["urdf"] = str(urdf.resolve())
    path = out / f"{data['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)
