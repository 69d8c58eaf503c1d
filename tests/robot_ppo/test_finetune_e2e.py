"""End to end through the real stack (slow): train on nominal dynamics, export, drive the
shifted virtual robot (`serve`) with `run --explore` over a pty, fine-tune, export, run again.
The larger version with its numbers is bench/finetune_shifted.py (docs/finetune.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_finetune_on_shifted_virtual_robot_through_the_stack(tmp_path: Path) -> None:
    pytest.importorskip("sim")
    pytest.importorskip("deploy")
    out = tmp_path / "bench"
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "finetune_shifted.py"),
                          "--out", str(out), "--train-steps", "30000", "--collect", "4",
                          "--eval", "2", "--duration", "5"],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["kl_to_reference"] <= results["kl_bound"]
    assert results["robot_steps"] > 0 and len(results["eval_after"]) == 2
    assert (out / "finetuned.onnx").is_file() and (out / "finetune_shifted.png").is_file()
