"""Tuned settings against the preset on fresh seeds, side by side: the check a `robot-ppo tune`
result needs before it becomes a preset (docs/tuning.md, "The quadruped study").

    python bench/tune_confirm.py --tuned runs/tune-quadruped/best.yaml --seeds 1 2 3 \
        --cap 600000 --out runs/tune-confirm

For each seed, the two trainings run at once as two processes (one torch thread each), so
that both see the same machine load. Every `--eval-every` env steps each one is evaluated
with `robot-ppo eval`'s code (the deterministic action mean, `--episodes` nominal episodes
seeded from `--eval-seed`) and once more at `--cap`; it stops at the first evaluation that
walks, or at `--cap`.

Walking, as docs/robots.md judges it: no falls in any episode (every episode runs the task's
full length) and a mean speed error of at most `--max-speed-error` m/s.

Writes OUT/results.json (every evaluation of every run, with the training's approx KL and clip
fraction), OUT/results.md (the table), and OUT/<side>-s<seed>/ (each run as `train` writes it).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
from pathlib import Path
from typing import Any

SIDES = ("tuned", "preset")


def _argv(side: str, tuned: Path, seed: int, cap: int, out: Path) -> list[str]:
    common = ["--seed", str(seed), "--steps", str(cap), "--out", str(out),
              "--torch-threads", "1", "--workers", "0", "--progress", "false",
              "--overwrite", "true"]
    if side == "tuned":
        return ["--config", str(tuned), *common]
    return ["--robot", "quadruped", "--dynamics", "nominal", *common]


def walking(result: dict[str, Any], max_error: float) -> bool:
    """docs/robots.md's criterion on a `robot-ppo eval` result: no episode ended early (a
    fall) and the mean speed error is at most `max_error` m/s."""
    return bool(result["mean_length"] >= result["max_length"]
                and result["mean_speed_error"] <= max_error)


class _Evaluations:
    """The Trainer's on_iteration callback: evaluate every `every` env steps and at the end of
    the run (`cap` steps), stop on walking."""

    def __init__(self, every: int, cap: int, episodes: int, seed: int,
                 max_error: float) -> None:
        self.every, self.cap = every, cap
        self.episodes, self.seed, self.max_error = episodes, seed, max_error
        self.next = every
        self.trainer: Any = None
        self.rows: list[dict[str, Any]] = []
        self.eval_s = 0.0

    def __call__(self, row: dict[str, float]) -> bool:
        import time

        from robot_ppo.commands.eval import EvalConfig, evaluate
        from robot_ppo.train.seeding import set_torch_threads

        steps = int(row["env_steps"])
        if steps < self.next and steps < self.cap:
            return False
        train_s = float(row["wall_s"]) - self.eval_s  # the earlier evaluations excluded
        while self.next <= steps:
            self.next += self.every
        t0 = time.perf_counter()
        result = evaluate(EvalConfig(checkpoint=self.trainer.save(), episodes=self.episodes,
                                     dynamics="nominal", seed=self.seed, progress=False))
        set_torch_threads(1)  # eval sets its own thread count
        self.eval_s += time.perf_counter() - t0
        walks = walking(result, self.max_error)
        self.rows.append({
            "env_steps": steps, "train_s": round(train_s, 1),
            "walks": walks, **{k: result[k] for k in (
                "mean_return", "mean_performance", "mean_speed_error", "mean_length")}})
        return walks


def _run(job: tuple[str, Path, int, argparse.Namespace]) -> dict[str, Any]:
    side, tuned, seed, args = job
    import csv

    from robot_ppo.commands.train import parse, validate
    from robot_ppo.train.seeding import set_torch_threads
    from robot_ppo.train.trainer import Trainer
    from robot_ppo.tune.trial import build_source

    set_torch_threads(1)
    out = args.out / f"{side}-s{seed}"
    config = parse(_argv(side, tuned, seed, args.cap, out))
    validate(config)
    evals = _Evaluations(args.eval_every, config.run.steps, args.episodes, args.eval_seed,
                         args.max_speed_error)
    trainer = Trainer(config, build_source(config), out, on_iteration=evals)
    evals.trainer = trainer
    summary = trainer.run()
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    kl = [float(r["approx_kl"]) for r in rows]
    clip = [float(r["clip_fraction"]) for r in rows]
    walked = next((r for r in evals.rows if r["walks"]), None)
    return {
        "side": side, "seed": seed, "env_steps": int(summary["env_steps"]),
        "wall_s": round(float(summary["wall_s"]), 1),
        "walks_at_steps": walked["env_steps"] if walked else None,
        "walks_at_train_s": walked["train_s"] if walked else None,
        # the update's trust region, over the second half of the run
        "approx_kl_median": statistics.median(kl[len(kl) // 2:]),
        "clip_fraction_median": statistics.median(clip[len(clip) // 2:]),
        "evaluations": evals.rows,
    }


def _cell(value: Any, never: str) -> str:
    return never if value is None else str(value)


def _table(results: list[dict[str, Any]], cap: int) -> str:
    lines = ["| side | seed | walks at (env steps) | training s to walk | steps trained | "
             "wall s | last mean_performance | last speed error | approx KL | clip frac |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (SIDES.index(r["side"]), r["seed"])):
        last = r["evaluations"][-1] if r["evaluations"] else {}
        lines.append(
            f"| {r['side']} | {r['seed']} | {_cell(r['walks_at_steps'], f'> {cap}')} | "
            f"{_cell(r['walks_at_train_s'], '—')} | {r['env_steps']} | {r['wall_s']} | "
            f"{last.get('mean_performance', float('nan')):.3f} | "
            f"{last.get('mean_speed_error', float('nan')):.3f} | "
            f"{r['approx_kl_median']:.4f} | {r['clip_fraction_median']:.3f} |")
    return "\n".join(lines) + "\n" + _spread(results)


def _spread(results: list[dict[str, Any]]) -> str:
    """Per side, the evaluation score across seeds at each mark that all its seeds reached:
    the seed-to-seed spread the settings leave."""
    lines = ["", "| side | env steps | mean_performance across seeds: mean (min–max) |",
             "|---|---|---|"]
    for side in SIDES:
        runs = [{e["env_steps"]: e["mean_performance"] for e in r["evaluations"]}
                for r in results if r["side"] == side]
        if not runs:
            continue
        for mark in sorted(set.intersection(*(set(r) for r in runs))):
            v = [r[mark] for r in runs]
            lines.append(f"| {side} | {mark} | {statistics.mean(v):.3f} "
                         f"({min(v):.3f}–{max(v):.3f}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tuned", type=Path, required=True, help="best.yaml of a tune run")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--cap", type=int, default=600_000, help="env steps at most per run")
    p.add_argument("--eval-every", type=int, default=100_000)
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--eval-seed", type=int, default=10_000)
    p.add_argument("--max-speed-error", type=float, default=0.05, help="m/s")
    p.add_argument("--out", type=Path, default=Path("runs/tune-confirm"))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with mp.get_context("spawn").Pool(len(SIDES)) as pool:
        for seed in args.seeds:  # both sides of one seed at once: the same load on each
            results += pool.map(_run, [(side, args.tuned, seed, args) for side in SIDES])
            (args.out / "results.json").write_text(json.dumps(results, indent=1))
    table = _table(results, args.cap)
    (args.out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
