"""`robot-ppo train --resume`: the resumed run continues its checkpoint's settings.

A checkpoint holds its run's TrainConfig (`config`, robot_ppo/train/checkpoint.py). A
resumed run starts from those values, so

    robot-ppo train --resume RUN/checkpoint.pt --steps 2000000

continues the same problem: robot, dynamics, ADR options (`--adr-fixed` included), the std
schedule, PPO settings. Options given now (flags, `--set`, `--config`) override them, except
the model's shape (MODEL): the weights come from the checkpoint, so a different shape is an
error, not a silent no-op. Never carried over: where and how long this run goes, and how
this machine runs it (RUN_LOCAL). `--robot` and `--env` travel together: naming either now
drops both of the checkpoint's. The ADR options (ADR) are taken only while the resumed run
still uses `--dynamics adr`. Keys of the checkpoint's config that TrainConfig lacks (a
fine-tuning run's, an older version's) are skipped.
"""

from __future__ import annotations

from typing import Any

from robot_ppo.cli_values import format_value, get_value, leaves
from robot_ppo.errors import UserError
from robot_ppo.train.config import TrainConfig
from robot_ppo.train.saved_config import saved_options

RUN_LOCAL = ("resume", "out", "steps", "workers", "torch_threads", "progress", "tensorboard",
             "checkpoint_every", "overwrite")
"""Per-invocation options: from this command line, the preset or the defaults, never from
the checkpoint (its `steps` was the old target; `--steps` now is the new total)."""

ADR = tuple(name for name in leaves(TrainConfig) if name.startswith("adr_"))
"""Options that only `--dynamics adr` reads: a resumed run that trains without ADR (say, an
ADR run continued on a plain-DR range) does not take the checkpoint's, which would otherwise
be refused (`--adr-fixed` needs ADR)."""

MODEL = ("recurrent", "hidden", "rnn_hidden", "activation", "std_mode", "normalize_obs",
         "privileged")
"""Options that shape the model (or, for `privileged`, the critic's input): fixed by the
checkpoint's weights."""


def inherited(saved: Any, given: set[str]) -> dict[str, Any]:
    """The values of the checkpoint's config (`saved`, nested or flat: saved_config.py) that
    a resumed run takes, by option name: TrainConfig options that are not RUN_LOCAL and that
    the user did not give now (`given`)."""
    names = set(leaves(TrainConfig)) - set(RUN_LOCAL) - given
    if given & {"robot", "env"}:
        names -= {"robot", "env"}
    return {k: v for k, v in saved_options(saved).items() if k in names}


def check_model_unchanged(saved: TrainConfig, config: TrainConfig, known: set[str]) -> None:
    """UserError naming every MODEL option that differs from the checkpoint's run (`saved`;
    only the names its config held, `known`)."""
    changed = [f"--{n.replace('_', '-')} {format_value(get_value(config, n))} (the "
               f"checkpoint's: {format_value(get_value(saved, n))})" for n in MODEL
               if n in known and get_value(config, n) != get_value(saved, n)]
    if changed:
        raise UserError("--resume continues the checkpoint's model, whose shape cannot change: "
                        + "; ".join(changed) + ". Drop those options, or train a new model "
                        "without --resume.")


def differences(before: TrainConfig, after: TrainConfig) -> list[str]:
    """`name=value` for each field whose value differs between two configs (after's value)."""
    return [f"{name}={format_value(get_value(after, name))}" for name in leaves(TrainConfig)
            if get_value(before, name) != get_value(after, name)]

