"""bench/providers.py, the check users run on their board, on this machine's providers:
every setting either loads and agrees with the CPU, or falls back with a logged reason."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from deploy.inference import FP16_TOL, FP32_TOL

ROOT = Path(__file__).resolve().parents[2]


def test_providers_bench_reports_each_setting(cartpole_onnx: Path, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("providers_bench",
                                                  ROOT / "bench" / "providers.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "providers.json"
    assert bench.main([str(cartpole_onnx), "--steps", "50", "--calls", "200",
                       "--json", str(out)]) == 0
    (result,) = json.loads(out.read_text())["results"]
    rows = result["providers"]
    assert set(rows) == set(bench.SETTINGS)
    for label, row in rows.items():
        wanted = bench.SETTINGS[label][0]
        if row["loaded"] == wanted:
            tol = FP16_TOL if "fp16" in label else FP32_TOL
            assert max(row["max_abs_diff"].values()) <= tol, label
            assert result["latency"][label]["p50_us"] > 0
        else:
            assert row["loaded"] == "cpu" and any("fell back" in s for s in row["log"]), label
    assert result["auto"]["picked"] in {"cpu", "cuda", "tensorrt"}
