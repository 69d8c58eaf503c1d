"""A run's TrainConfig as a checkpoint holds it, read back.

A checkpoint's `config` (robot_ppo/train/checkpoint.py) is the TrainConfig as a plain,
nested dict (`config_dict`: sections `environment`, `model`, `ppo`, `run`; what
config.yaml holds too). Checkpoints written before the sections existed hold a flat dict
of option names, possibly with options since removed (train/config.py REMOVED) or keys
TrainConfig never had (a fine-tuning run's). `saved_options` reads either form into flat
{option name: value}, skipping what is no option now; `checkpoint_config` turns that into a
TrainConfig.
"""

from __future__ import annotations

from typing import Any

from robot_ppo.cli_values import apply_flat, config_to_dict, leaves
from robot_ppo.train.config import REMOVED, TrainConfig

SECTIONS = ("environment", "model", "ppo", "run")
"""TrainConfig's sections: a checkpoint config with one of these keys is the nested form."""


def config_dict(config: TrainConfig) -> dict[str, Any]:
    """The plain, nested dict a checkpoint and config.yaml hold: every option but
    --overwrite, this invocation's leave to clear --out, which a --resume must never
    inherit."""
    data = config_to_dict(config)
    data["run"].pop("overwrite", None)
    return data


def saved_options(raw: Any) -> dict[str, Any]:
    """{option name: plain value} of a checkpoint's config, nested or flat; keys that name
    no option of TrainConfig now (removed ones, a fine-tuning run's) are left out."""
    if not isinstance(raw, dict):
        return {}
    names = leaves(TrainConfig)
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update({k: v for k, v in value.items() if k in names and k not in REMOVED})
        elif key in names and key not in REMOVED:
            flat[key] = value
    return flat


def checkpoint_config(raw: Any) -> TrainConfig:
    """The TrainConfig of a checkpoint's config (nested or flat; see saved_options), on
    the defaults for what it lacks. Its cross-field rules are not checked again: the run
    that wrote it was checked when it started."""
    return apply_flat(TrainConfig(), saved_options(raw), "the checkpoint's config")
