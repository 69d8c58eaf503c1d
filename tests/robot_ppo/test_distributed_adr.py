"""Under torchrun every rank trains on rank 0's ADR state (ranges, boundary queues and
curriculum), broadcast every iteration (robot_ppo/train/distributed_sync.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.slow
def test_every_rank_holds_rank_0s_adr_state(tmp_path: Path) -> None:
    env = {**os.environ, "ROBOT_PPO_DIST_TIMEOUT_S": "60", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(HERE / "distributed_adr_rank.py"),
                           str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    states = [json.loads((tmp_path / f"adr_rank{r}.json").read_text()) for r in (0, 1)]
    assert states[0] is not None and states[0]["ranges"]
    # the boundary queues hold episode results: rank 1's own episodes would differ
    assert any(len(q) for q in _queues(states[0])), "no ADR boundary episode recorded"
    assert states[0] == states[1]


def _queues(state: dict[str, object]) -> list[list[object]]:
    queues = state["queues"]
    assert isinstance(queues, dict)
    return [q for sides in queues.values() if isinstance(sides, dict)
            for q in sides.values() if isinstance(q, list)]
