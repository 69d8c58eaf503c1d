"""Tasks: one module per task, each with a Task class and a pure `reward` function."""

from __future__ import annotations

from robot_ppo.spec import RobotSpec, SpecError
from sim.tasks import balance, reach, walk
from sim.tasks.base import InitialState, StepResult, Task

TASKS: dict[str, type[Task]] = {
    "balance": balance.BalanceTask,
    "reach": reach.ReachTask,
    "walk": walk.WalkTask,
}
REWARDS = {"balance": balance.reward, "reach": reach.reward, "walk": walk.reward}
"""Task name -> pure reward(spec, state, command, action, prev_action, next_state, extras)."""


def make_task(spec: RobotSpec) -> Task:
    if spec.task.name not in TASKS:
        raise SpecError(f"{spec.name}: field 'task.name' {spec.task.name!r} is not a known "
                        f"task. Known: {', '.join(TASKS)}")
    return TASKS[spec.task.name](spec)


__all__ = ["REWARDS", "TASKS", "InitialState", "StepResult", "Task", "make_task"]
