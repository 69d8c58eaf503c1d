"""`robot-ppo demo` end to end (train → export → serve → run → summary).

About 20 s here (training 20k steps is most of it), so it stays in the default suite;
it is marked slow only if that stops being true."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "robot_ppo.cli", "demo", "--out",
                           str(tmp_path), "--duration", "3"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "demo_summary.json").read_text())
    assert report["motors_disabled"] is True
    assert report["steps_on_virtual_robot"] >= 100
    assert not report["fell"], report
    for f in ("checkpoint", "policy", "loop_stats"):
        assert Path(report["files"][f]).is_file()
    assert "return on the virtual robot" in proc.stdout
