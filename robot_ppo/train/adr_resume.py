"""Carrying automatic domain randomization (ADR) state through a checkpoint.

With `--dynamics adr` the envs keep ADR ranges, boundary queues and a disturbance curriculum
in one object per process (sim/adr_dynamics.py). The trainer never imports the simulator, so it
reaches that state only through the envs:

  * saving: `current_adr_state(venv)` asks the first env stepped in the trainer's own
    process (`env.unwrapped.get_adr_state()`; None for envs without ADR). With W worker
    processes each worker has its own ADR; only this process's one (slice 0) is saved.
  * resuming: `resume_factory(source, ckpt)` builds every env, in this process and in each
    worker, with the checkpoint's `adr_state` (`EnvSource.with_adr_state`), so each process's
    ADR starts from the saved ranges and curriculum level.
  * `restore_notes(saved, restored)` are the log lines about what the restore did: no saved
    state (old checkpoint), state ignored (run without ADR), unknown names, clamped ranges.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robot_ppo.train.trainer import EnvSource
    from robot_ppo.train.vec_env import EnvFactory, VecEnv


def current_adr_state(venv: VecEnv) -> dict[str, Any] | None:
    """The ADR state of the trainer's process (first in-process env), or None without ADR."""
    for env in venv.local_envs[:1]:
        getter = getattr(env.unwrapped, "get_adr_state", None)
        if callable(getter):
            state = getter()
            return None if state is None else dict(state)
    return None


def resume_factory(source: EnvSource, ckpt: dict[str, Any] | None) -> EnvFactory:
    """The env factory for this run: restoring the checkpoint's ADR state when it has one
    and the source can take it, else the source's plain factory."""
    saved = None if ckpt is None else ckpt.get("adr_state")
    if saved is None or source.with_adr_state is None:
        return source.factory
    return source.with_adr_state(saved)


def restore_notes(saved: Any, restored: dict[str, Any] | None) -> list[str]:
    """What resuming did with the ADR state: `saved` is the checkpoint's `adr_state`,
    `restored` the state the envs hold right after they were built."""
    if restored is None:
        return [] if saved is None else [
            "the checkpoint's ADR state (adr_state) is ignored: this run does not use "
            "--dynamics adr."]
    if saved is None:
        return ["the checkpoint holds no ADR state (adr_state; an older checkpoint or a run "
                "without --dynamics adr): ADR ranges and the disturbance curriculum start "
                "from their initial values."]
    notes = []
    saved_ranges: dict[str, Any] = saved.get("ranges", {}) if isinstance(saved, dict) else {}
    now: dict[str, list[float]] = restored["ranges"]
    unknown = sorted(set(saved_ranges) - set(now))
    if unknown:
        notes.append("ADR parameters in the checkpoint that this robot does not randomize "
                     f"are ignored: {', '.join(unknown)}.")
    clamped = [f"{name} {list(map(float, saved_ranges[name]))} -> {now[name]}"
               for name in now if name in saved_ranges
               and [float(x) for x in saved_ranges[name]] != now[name]]
    if clamped:
        notes.append("ADR ranges from the checkpoint clamped into the ranges ADR can reach: "
                     + "; ".join(clamped) + ".")
    return notes


def log_note(message: str) -> None:
    """One line on stderr, like the CLI's other notes."""
    print(f"robot-ppo train: note: {message}", file=sys.stderr, flush=True)
