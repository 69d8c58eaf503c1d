"""AdaptConfig: every option of `robot-ppo adapt`, one docstring each (shown by --help).

It extends FinetuneConfig, so every fine-tuning option of `robot-ppo finetune` is an option
of adapt under the same name, default and help text (--kl-bound, --iterations, --lr,
--sim-mix, ...), settable by flag, --set or --config alike; adapt passes them to each
round's fine-tuning unchanged. `rollouts` is adapt's to choose (the rounds' own logs), so it
is not an option here.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Literal

from robot_ppo.cli_config import config_dataclass
from robot_ppo.finetune.config import FinetuneConfig


@config_dataclass
class AdaptConfig(FinetuneConfig):
    checkpoint: Path | None = None
    """The reference checkpoint (required): round 1 collects with it, and every round's
    fine-tuning is leashed (KL) to it, whichever accepted policy the round starts from."""
    out: Path | None = None
    """Output directory: round_<r>/ per round, rounds.csv, and the last accepted
    policy.onnx and checkpoint.pt (default runs/adapt-<timestamp>). Never the reference
    checkpoint's directory."""
    overwrite: bool = False
    """Replace an earlier run in a non-empty --out (never the reference's directory)."""
    rollouts: tuple[str, ...] = field(default=(), init=False)
    """Not an option: each round fine-tunes on the rounds' own logs (see --window)."""
    seed: int = 0
    """Seed of minibatch order and simulated rollouts; episode k of round r explores with
    seed SEED + 1000·r + k."""
    port: str = ""
    """The robot's motor controller port, as `robot-ppo run --port` (required)."""
    protocol: Literal["", "robot_ppo", "dynamixel", "feetech"] = ""
    """Bus protocol, as `robot-ppo run --protocol`; empty = the spec's bus.protocol."""
    rounds: int = 3
    """Rounds of collect -> fine-tune -> export."""
    episodes: int = 10
    """Episodes collected on the robot per round (one `robot-ppo run` each)."""
    explore: float = 0.5
    """Exploration scale of the collected episodes, as `robot-ppo run --explore` (the
    policy's std times this); 0 is refused, fine-tuning needs the log-probabilities."""
    duration: float = 10.0
    """Longest episode, seconds of policy control (a fall or a stop ends it sooner)."""
    start_timeout_s: float = 30.0
    """How long each episode waits, torque off, for the robot to be set up in the task's
    start envelope (the operator's time to reset it), as `robot-ppo run --start-timeout-s`."""
    window: int = 0
    """Fine-tune each round on the logs of the last N rounds (0 = all rounds so far). The
    older logs stay valid data: their behaviour log-probabilities are logged."""
    rollback_tolerance: float = 0.0
    """How far a round's policy may fall below the last accepted policy's mean return on
    the robot, as a fraction of |that return|, before it is rolled back (0: any drop)."""
    final_check: bool = True
    """After the last round, collect --episodes more with its policy only to judge it, so
    that the final policy.onnx has been judged on the robot; off: the last round's policy
    stays unjudged and the final files are the last accepted before it."""
    run_set: tuple[str, ...] = ()
    """Further `robot-ppo run` options for every episode, KEY=VALUE comma-separated (e.g.
    rt_priority=0,standby_s=0.5); checked as run checks them."""
