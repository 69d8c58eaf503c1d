"""The fine-tuning benchmark's seed pooling and per-robot recipes (bench/finetune_shifted.py,
bench/finetune_bench/config.py): what --jobs relies on to give the same results.json."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from finetune_bench.config import BenchConfig, train_config, train_options, train_steps
from finetune_shifted import pool


def seed_result(seed: int, seconds: float, falls: int, returns: list[float]) -> dict[str, Any]:
    return {"reference": [{"seed": seed, "nominal_return": 500.0}],
            "arms": {"robot": {"before": [1.0 + seed], "after": returns, "oracle": [9.0],
                               "robot_seconds_per_seed": [seconds], "kl_per_seed": [0.01],
                               "falls": falls, "safety_stops": 1, "curve": [[{"round": 1}]]}}}


def test_pooling_joins_seeds_in_order_sums_counts_and_averages_robot_time() -> None:
    got = pool([seed_result(0, 100.0, 3, [5.0, 6.0]), seed_result(1, 200.0, 4, [7.0])])
    assert [r["seed"] for r in got["reference"]] == [0, 1]
    arm = got["arms"]["robot"]
    assert arm["before"] == [1.0, 2.0] and arm["after"] == [5.0, 6.0, 7.0]
    assert arm["robot_seconds_per_seed"] == [100.0, 200.0] and arm["robot_seconds"] == 150.0
    assert (arm["falls"], arm["safety_stops"]) == (7, 2)
    assert arm["curve"] == [[{"round": 1}], [{"round": 1}]]


def test_recipes_give_each_robot_its_budget_and_an_explicit_option_wins(tmp_path: Path) -> None:
    cfg = BenchConfig()
    assert cfg.robots == ("cartpole", "arm")
    assert (train_steps(cfg, "cartpole"), train_steps(cfg, "arm")) == (300_000, 700_000)
    assert train_config(cfg, "cartpole") is None
    arm_yaml = train_config(cfg, "arm")
    assert arm_yaml is not None and arm_yaml.is_file()
    assert train_options(cfg, "arm")[-2:] == ["--config", str(arm_yaml)]
    mine = tmp_path / "mine.yaml"
    explicit = BenchConfig(train_steps=1000, train_config=mine)
    assert train_steps(explicit, "arm") == 1000 and train_config(explicit, "arm") == mine
