"""What a trial scores, from its sequence of evaluations.

- `return`: the last evaluation's mean return (maximized). Intermediate values: each
  evaluation's mean return.
- `steps` / `seconds`: env steps / training seconds (evaluation time excluded) until an
  evaluation's mean return first reaches `threshold` (minimized). A trial that never reaches it
  scores budget·(1 + shortfall), shortfall = (threshold − best return) / max(|threshold|, 1)
  capped at 1, so it ranks after every trial that did, and closer ones first. Intermediate
  values are the negated returns, so that the pruner (which compares them in the study's
  direction, here minimize) prunes low returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from robot_ppo.errors import UserError


@dataclass(frozen=True)
class Objective:
    kind: str
    """"return", "steps" or "seconds"."""
    threshold: float | None = None
    metric: str = "mean_return"
    """The evaluation score (`robot-ppo eval`'s result key); "return" below means it."""

    @property
    def direction(self) -> str:
        return "maximize" if self.kind == "return" else "minimize"

    def describe(self) -> str:
        if self.kind == "return":
            return f"evaluation {self.metric} after the budget (maximize)"
        unit = "env steps" if self.kind == "steps" else "training seconds"
        return f"{unit} to an evaluation {self.metric} >= {self.threshold:g} (minimize)"

    def intermediate(self, mean_return: float) -> float:
        return mean_return if self.kind == "return" else -mean_return

    def reached(self, mean_return: float) -> bool:
        return self.threshold is not None and mean_return >= self.threshold

    def value(self, returns: list[float], reached_at: float | None, budget: float) -> float:
        """The trial's value from its evaluation returns; `reached_at`: steps or seconds at
        the first evaluation that reached the threshold (None: never); `budget`: the steps
        or seconds it trained in all."""
        if self.kind == "return":
            return returns[-1]
        if reached_at is not None:
            return reached_at
        assert self.threshold is not None
        best = max(returns) if returns else float("-inf")
        shortfall = min(1.0, max(0.0, self.threshold - best) / max(abs(self.threshold), 1.0))
        return budget * (1.0 + shortfall)


def make_objective(kind: str, threshold: float | None, max_return: float | None,
                   metric: str = "mean_return") -> Objective:
    """The objective, refused before any trial when the threshold is missing or cannot be
    reached (`max_return`: the best possible value of `metric` on the task, where known)."""
    if kind in ("steps", "seconds") and threshold is None:
        raise UserError(f"--objective {kind} needs --threshold SCORE (the evaluation {metric} "
                        "that counts as solved, e.g. 475 for the cartpole's mean_return)")
    if threshold is not None and max_return is not None and threshold > max_return:
        what = "return" if metric == "mean_return" else metric
        raise UserError(f"--threshold {threshold:g} cannot be reached: the task's best "
                        f"possible {what} is {max_return:g}; choose a threshold at or below it")
    return Objective(kind, threshold, metric)
