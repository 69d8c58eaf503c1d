"""Does a policy need its exploration noise? The mean action against sampled actions.

    python bench/noise_reliance.py RUN_DIR [RUN_DIR ...] [--robot quadruped] [--episodes 10]
        [--dynamics nominal,shifted] [--json OUT.json]

For each run's checkpoint and each dynamics set, `robot-ppo eval` twice: once with the action
mean (what the exported actor runs on the robot) and once with `--stochastic true` (mean +
σ·ε with the run's own noise process, as in training). Same episodes and eval seeds for
both. Prints a markdown table of the mean return and, for tasks that report one, the
normalized performance (the walk task: walk score). A policy that does much better sampled
than with its mean was trained, and judged by ADR, on behaviour that the robot will not see.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from robot_ppo.commands.eval import EvalConfig, evaluate


def measure(run: Path, robot: str | None, dynamics: str, episodes: int,
            stochastic: bool) -> dict[str, Any]:
    return evaluate(EvalConfig(checkpoint=run / "checkpoint.pt", robot=robot,
                               episodes=episodes, dynamics=dynamics, stochastic=stochastic))


def cell(result: dict[str, Any]) -> str:
    text = f"{result['mean_return']:.1f}"
    if "mean_performance" in result:
        text += f" ({result['mean_performance']:.2f})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (checkpoint.pt)")
    parser.add_argument("--robot", default=None, help="spec to evaluate on (default: the "
                        "checkpoint's own)")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--dynamics", default="nominal,shifted",
                        help="comma-separated dynamics sets")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    sets = args.dynamics.split(",")
    rows = []
    print("| run | " + " | ".join(f"{d}: mean | {d}: sampled" for d in sets) + " |")
    print("|---|" + "---|---|" * len(sets))
    for run in args.runs:
        row: dict[str, Any] = {"run": str(run)}
        cells = []
        for d in sets:
            for stochastic in (False, True):
                result = measure(run, args.robot, d, args.episodes, stochastic)
                row[f"{d}/{'sampled' if stochastic else 'mean'}"] = {
                    k: result[k] for k in ("mean_return", "mean_length", "mean_performance")
                    if k in result}
                cells.append(cell(result))
        rows.append(row)
        print(f"| {run} | " + " | ".join(cells) + " |", flush=True)
    print("\nCells: mean return (walk score or other normalized performance, where the task "
          f"reports one); {args.episodes} episodes per cell, eval seeds 0–{args.episodes - 1}.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
