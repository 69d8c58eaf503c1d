"""Checkpoint files: the contract between training, export and fine-tuning.

A checkpoint is a plain dict saved with `torch.save`, loadable with
`torch.load(path, weights_only=True)`: it holds only tensors, dicts, lists, str, int,
float, bool and None. Keys (format_version 1):

    format            "robot_ppo.checkpoint"
    format_version    1 (bumped on any incompatible change; loaders refuse other versions)
    package_version   robot_ppo.__version__ that wrote it
    model_config      kwargs of ActorCritic or, with an `rnn_hidden` key, of
                      RecurrentActorCritic (algo.models.model_from_config rebuilds either)
    model_state       model.state_dict(), including the normalizer buffers
                      (obs_normalizer.mean/var/count, critic_normalizer.* when present)
    optimizer_state   Adam state in torch.optim.Adam's state_dict format (loads into
                      torch.optim.Adam(model.parameters())), or None
    config            the TrainConfig as a plain, nested dict (sections environment, model,
                      ppo, run; train/saved_config.py `config_dict`); older checkpoints
                      hold a flat dict of option names. Read it with saved_config.py
                      `checkpoint_config`, which takes either
    env_id            gymnasium id the policy was trained on
    env_kwargs        plain kwargs of the env
    spec              robot spec as a plain dict (RobotSpec.to_dict()), or None
    spec_hash         RobotSpec.spec_hash, or None
    obs_dim, act_dim  ints
    action_low/high   lists of floats: env action bounds; the policy acts in its own space
                      and actions are clipped to these bounds before stepping the env
    env_steps         env steps trained so far (all envs)
    iteration         PPO iterations so far
    lineage           {"parent": path of the checkpoint this run resumed/fine-tuned from, or None}
    reward_scaler     reward scaler statistics {"mean","var","count"} or None (optional)
    env_state         the envs' own training state (their `get_train_state()`), or None
                      (optional): a plain dict the trainer carries without reading it,
                      from the first env of the trainer's own process; `--resume` builds
                      every process's envs with it. In practice the ADR state of a
                      `--dynamics adr` run (layout: sim/adr_dynamics.py). Checkpoints
                      written before this key hold it as `adr_state`; `saved_env_state`
                      reads either.

Public API: `save_checkpoint(path, ...)` (atomic, robot_ppo/atomic_write.py; the file
gets the umask's mode),
`load_checkpoint(path) -> dict` (validated; UserError with a clear message for a missing
file, a file that is not a robot_ppo checkpoint, or another format_version),
`saved_env_state(ckpt)` (the env state under either key), and
`build_model(ckpt) -> ActorCritic | RecurrentActorCritic` (weights and normalizer loaded,
in eval mode).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Protocol

import torch

from robot_ppo import __version__
from robot_ppo.algo.models import AnyActorCritic, model_from_config
from robot_ppo.atomic_write import atomic_open
from robot_ppo.errors import UserError

FORMAT = "robot_ppo.checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = (
    "format", "format_version", "package_version", "model_config", "model_state",
    "optimizer_state", "config", "env_id", "env_kwargs", "spec", "spec_hash", "obs_dim",
    "act_dim", "action_low", "action_high", "env_steps", "iteration", "lineage",
)


class HasStateDict(Protocol):
    def state_dict(self) -> dict[str, Any]: ...


def to_plain(x: Any) -> Any:
    """Tuples become lists, recursively (the format holds dicts, lists and scalars only)."""
    if isinstance(x, dict):
        return {k: to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    return x


def state_is_finite(state: dict[str, Any]) -> bool:
    """True when every floating tensor in a (model) state dict is finite."""
    return all(torch.isfinite(v).all().item() for v in state.values()
               if isinstance(v, torch.Tensor) and v.is_floating_point())


def save_checkpoint(path: str | Path, *, model: AnyActorCritic,
                    optimizer: HasStateDict | None, config: dict[str, Any],
                    env_id: str, env_kwargs: dict[str, Any] | None = None,
                    spec: dict[str, Any] | None = None, spec_hash: str | None = None,
                    action_low: list[float], action_high: list[float], env_steps: int,
                    iteration: int, lineage: dict[str, Any] | None = None,
                    reward_scaler: dict[str, float] | None = None,
                    env_state: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically; refuses non-finite weights (keeps the old file).

    Raises FloatingPointError when the model holds NaN/inf, so a NaN can never replace a
    good checkpoint on disk.
    """
    path = Path(path)
    model_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if not state_is_finite(model_state):
        raise FloatingPointError("refusing to save a checkpoint with non-finite weights")
    data: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "model_config": model.config_dict(),
        "model_state": model_state,
        "optimizer_state": None if optimizer is None else to_plain(optimizer.state_dict()),
        "config": to_plain(dict(config)),
        "env_id": str(env_id),
        "env_kwargs": to_plain(dict(env_kwargs or {})),
        "spec": to_plain(spec),
        "spec_hash": spec_hash,
        "obs_dim": int(model.obs_dim),
        "act_dim": int(model.act_dim),
        "action_low": [float(x) for x in action_low],
        "action_high": [float(x) for x in action_high],
        "env_steps": int(env_steps),
        "iteration": int(iteration),
        "lineage": dict(lineage or {"parent": None}),
        "reward_scaler": reward_scaler,
        "env_state": to_plain(env_state),
    }
    with atomic_open(path) as fh:
        torch.save(data, fh)
    return path


OLD_ENV_STATE_KEY = "adr_state"
"""Where checkpoints written before `env_state` hold the env's state (same layout)."""


def saved_env_state(ckpt: dict[str, Any]) -> Any:
    """The checkpoint's env state (`env_state`, else an older checkpoint's `adr_state`), or
    None when it holds none."""
    state = ckpt.get("env_state")
    return ckpt.get(OLD_ENV_STATE_KEY) if state is None else state


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and validate a checkpoint with `weights_only=True` (no code runs on load)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {str(path)!r} does not exist.")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message advises loading with weights_only=False "if you trust the
        # source": never pass that on. A robot_ppo checkpoint holds only plain data, so a
        # file that needs anything else to load is not one (issue 25 item 7).
        raise UserError(f"{str(path)!r} is not a robot_ppo checkpoint: it holds Python "
                        "objects that robot_ppo never writes, so it was made by other "
                        "software or by untrusted code. It was not loaded and nothing in it "
                        "ran; use a checkpoint.pt written by `robot-ppo train` or "
                        "`robot-ppo finetune`.") from None
    except Exception as exc:  # any other parse failure means "not a checkpoint we can read"
        raise UserError(f"{str(path)!r} is not a robot_ppo checkpoint (cannot be read as one: "
                        f"{_first_line(exc)}).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{str(path)!r} is not a robot_ppo checkpoint (no "
                        f"format={FORMAT!r} key).")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise UserError(f"checkpoint {str(path)!r} has format_version {version!r}, but this "
                        f"robot_ppo ({__version__}) reads only version {FORMAT_VERSION}. "
                        "Use the robot_ppo version that wrote it "
                        f"({data.get('package_version', 'unknown')}), or retrain.")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise UserError(f"checkpoint {str(path)!r} is incomplete: missing {', '.join(missing)}.")
    return data


def _first_line(exc: BaseException) -> str:
    """The first line of a load error, without any advice about weights_only."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return type(exc).__name__ if "weights_only" in first else first


def build_model(ckpt: dict[str, Any]) -> AnyActorCritic:
    """The checkpoint's actor-critic with weights and normalizer statistics, in eval mode."""
    model = model_from_config(ckpt["model_config"])
    model.load_state_dict(ckpt["model_state"])
    model.eval()
    return model
