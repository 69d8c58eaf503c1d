"""The tuned-vs-preset confirmation's verdicts and tables (bench/tune_confirm.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from tune_confirm import _Evaluations, _table, walking


def _eval(length: float, error: float) -> dict[str, Any]:
    return {"mean_length": length, "max_length": 500, "mean_speed_error": error}


def test_walking_needs_no_falls_and_a_small_speed_error() -> None:
    assert walking(_eval(500, 0.01), 0.05)
    assert not walking(_eval(499.5, 0.01), 0.05)  # one episode ended early: a fall
    assert not walking(_eval(500, 0.2), 0.05)  # stands or shuffles without falling


def _run(side: str, seed: int, scores: list[float], walks_at: int | None) -> dict[str, Any]:
    evaluations = [{"env_steps": 100 * (k + 1), "train_s": 1.0, "walks": False,
                    "mean_return": 0.0, "mean_performance": v, "mean_speed_error": 0.3,
                    "mean_length": 500.0} for k, v in enumerate(scores)]
    return {"side": side, "seed": seed, "env_steps": 100 * len(scores), "wall_s": 9.0,
            "walks_at_steps": walks_at, "walks_at_train_s": 4.0 if walks_at else None,
            "approx_kl_median": 0.05, "clip_fraction_median": 0.4, "evaluations": evaluations}


def test_table_marks_runs_that_never_walk_and_spreads_only_over_shared_marks() -> None:
    results = [_run("preset", 1, [0.1, 0.3], None), _run("tuned", 1, [0.2, 0.95], 200),
               _run("tuned", 2, [0.4], 100)]
    table = _table(results, cap=200)
    lines = table.splitlines()
    tuned1 = next(line for line in lines if line.startswith("| tuned | 1 |"))
    preset1 = next(line for line in lines if line.startswith("| preset | 1 |"))
    assert "| 200 | 4.0 |" in tuned1 and "| > 200 | — |" in preset1
    # tuned's seed 2 stopped at 100 steps: the spread covers that mark alone
    assert "| tuned | 100 | 0.300 (0.200–0.400) |" in lines
    assert not any(line.startswith("| tuned | 200 |") for line in lines)
    assert "| preset | 200 | 0.300 (0.300–0.300) |" in lines


def test_evaluations_fall_on_each_interval_and_at_the_cap(monkeypatch: Any) -> None:
    import robot_ppo.commands.eval as eval_command

    seen: list[Path] = []

    def evaluate(cfg: Any) -> dict[str, Any]:
        seen.append(cfg.checkpoint)
        return {**_eval(500, 0.3), "mean_return": 1.0, "mean_performance": 0.1}

    monkeypatch.setattr(eval_command, "evaluate", evaluate)
    evals = _Evaluations(every=100, cap=250, episodes=1, seed=0, max_error=0.05)
    evals.trainer = type("T", (), {"save": lambda self: Path("ckpt.pt")})()
    stops = [evals({"env_steps": s, "wall_s": 1.0}) for s in (50, 100, 150, 220, 250)]
    assert [r["env_steps"] for r in evals.rows] == [100, 220, 250]  # 220 passed 200
    assert stops == [False] * 5 and len(seen) == 3
