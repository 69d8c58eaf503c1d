"""Carrying the envs' own training state through a checkpoint.

Some envs keep state that outlives an episode and belongs to the run: sim's robot envs with
`--dynamics adr` keep ADR ranges, boundary queues and a disturbance curriculum, one per
process. The trainer never imports the simulator and never looks inside that state: it is an
opaque plain dict, reached through the env's own methods (sim/env.py):

  get_train_state() -> dict | None     the state now (None: the env keeps none)
  set_train_state(state)               continue from another process's state
  take_reports() / merge_reports(...)  episode results, merged across torchrun ranks
                                       (train/distributed_sync.py)
  restore_notes(saved) -> [str]        what restoring a checkpoint's state did, in words

  * saving: `current_env_state(venv)` asks the first env stepped in the trainer's own
    process. With W worker processes each worker's envs hold their own state; only this
    process's one (slice 0) is saved (checkpoint key `env_state`).
  * resuming: `resume_factory(source, ckpt)` builds every env, in this process and in each
    worker, with the checkpoint's state (`EnvSource.with_env_state`).
  * `restore_notes(venv, saved)` are the env's log lines about that restore.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from robot_ppo.train.checkpoint import saved_env_state

if TYPE_CHECKING:
    from robot_ppo.train.trainer import EnvSource
    from robot_ppo.train.vec_env import EnvFactory, VecEnv


def state_env(venv: VecEnv) -> Any:
    """The env whose training state the run saves and merges (the first one stepped in this
    process), or None when there is none or it keeps no state."""
    for env in venv.local_envs[:1]:
        if callable(getattr(env.unwrapped, "get_train_state", None)):
            return env.unwrapped
    return None


def current_env_state(venv: VecEnv) -> dict[str, Any] | None:
    """The training state of the trainer's process (first in-process env), or None."""
    env = state_env(venv)
    state = None if env is None else env.get_train_state()
    return None if state is None else dict(state)


def resume_factory(source: EnvSource, ckpt: dict[str, Any] | None) -> EnvFactory:
    """The env factory for this run: restoring the checkpoint's env state when it has one
    and the source can take it, else the source's plain factory."""
    saved = None if ckpt is None else saved_env_state(ckpt)
    if saved is None or source.with_env_state is None:
        return source.factory
    return source.with_env_state(saved)


def restore_notes(venv: VecEnv, saved: Any) -> list[str]:
    """What resuming did with the checkpoint's env state `saved`, in the env's own words;
    for an env that keeps no state, a note that a saved one is ignored."""
    env = state_env(venv)
    notes = getattr(env, "restore_notes", None)
    if callable(notes):
        return list(notes(saved))
    return [] if saved is None else [
        "the checkpoint's env state (env_state) is ignored: this env keeps none."]


def log_note(message: str) -> None:
    """One line on stderr, like the CLI's other notes."""
    print(f"robot-ppo train: note: {message}", file=sys.stderr, flush=True)
