"""Under torchrun every rank trains on one ADR state (ranges, boundary queues and curriculum)
merged from all ranks' episodes every iteration (robot_ppo/train/distributed_sync.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.slow
def test_every_rank_holds_the_adr_state_merged_from_all_ranks(tmp_path: Path) -> None:
    env = {**os.environ, "ROBOT_PPO_DIST_TIMEOUT_S": "60", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(HERE / "distributed_adr_rank.py"),
                           str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    out = [json.loads((tmp_path / f"adr_rank{r}.json").read_text()) for r in (0, 1)]
    states = [o["state"] for o in out]
    assert states[0] is not None and states[0]["ranges"]
    assert any(len(q) for q in _queues(states[0])), "no ADR boundary episode recorded"
    assert states[0] == states[1]
    # both ranks' episodes went into it, and both ranks counted the same
    merged = out[0]["merged"]
    assert len(merged) == 2 and min(merged) > 0, merged
    assert out[1]["merged"] == merged


def _queues(state: dict[str, object]) -> list[list[object]]:
    queues = state["queues"]
    assert isinstance(queues, dict)
    return [q for sides in queues.values() if isinstance(sides, dict)
            for q in sides.values() if isinstance(q, list)]
