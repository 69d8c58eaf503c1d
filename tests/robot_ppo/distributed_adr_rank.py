"""One rank of tests/robot_ppo/test_distributed_adr.py, started by torchrun:

    torchrun ... distributed_adr_rank.py OUT_DIR

Trains the cartpole with --dynamics adr through the trainer, then writes this rank's ADR
state after the last iteration (ranges, boundary queues, curriculum) and the count of ADR
episode results merged from each rank to OUT_DIR/adr_rank<RANK>.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from robot_ppo.commands.train import parse, robot_source
from robot_ppo.train.distributed import Distributed
from robot_ppo.train.env_state import current_env_state
from robot_ppo.train.trainer import Trainer


def main() -> None:
    out = Path(sys.argv[1])
    config = parse(["--robot", "cartpole", "--dynamics", "adr", "--steps", "3072", "--envs",
                    "4", "--rollout-steps", "128", "--workers", "0", "--progress", "false",
                    "--tensorboard", "false", "--out", str(out / "run")])
    dist = Distributed.from_env()
    source = robot_source("cartpole", "adr")
    states: list[object] = []
    trainer = Trainer(config, source, out / "run", dist=dist,
                      on_iteration=lambda row: states.append(current_env_state(trainer.venv)))
    trainer.run()
    state = states[-1]  # after the last iteration's exchange (the envs are closed now)
    assert trainer.sync is not None
    merged = trainer.sync.reports_merged  # per rank: the ADR episode results merged so far
    (out / f"adr_rank{dist.rank}.json").write_text(
        json.dumps({"state": state, "merged": merged}, sort_keys=True))
    dist.close()


if __name__ == "__main__":
    main()
