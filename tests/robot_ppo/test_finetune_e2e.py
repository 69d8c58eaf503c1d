"""End to end through the real stack (slow): bench/finetune_shifted.py at a tiny budget, i.e.
train a reference (nominal) and an oracle (shifted), drive the shifted virtual robot (`serve`)
with `robot-ppo adapt` rounds over a pty for every arm, evaluate with `run --explore 0`, and
write results.json / results.md / the plot (docs/finetune.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARMS = ("none", "robot", "sim_nominal", "sim_identified", "resume_identified", "no_leash")
UNLEASHED = ("resume_identified", "no_leash")


@pytest.mark.slow
def test_finetune_benchmark_through_the_stack(tmp_path: Path) -> None:
    pytest.importorskip("sim")
    pytest.importorskip("deploy")
    pytest.importorskip("cmaes")  # sim_identified runs robot-ppo identify
    out = tmp_path / "bench"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "finetune_shifted.py"),
                          "--out", str(out), "--robots", "cartpole", "--seeds", "1",
                          "--eval-episodes", "3",
                          "--train-steps", "20000", "--robot-seconds", "20", "--rounds", "1",
                          "--lockstep", "true", "--identify-evaluations", "16",
                          "--resume-steps", "4096",
                          "--finetune-set", "iterations=2,value_warmup_epochs=5"],
                         capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    arms = results["robots"]["cartpole"]["arms"]
    assert set(arms) == set(ARMS)
    for name, arm in arms.items():
        assert len(arm["before"]) == len(arm["after"]) == len(arm["oracle"]) == 3, name
        assert arm["robot_seconds"] > 0 or name == "none", name
        if name not in UNLEASHED:
            assert arm["summary"]["kl_within_bound"], (name, arm["summary"])
    # no fine-tuning leaves the reference's evaluation unchanged (same serve seeds)
    assert arms["none"]["after"] == arms["none"]["before"]
    assert (out / "results.md").is_file() and (out / "robot_seconds.png").is_file()
