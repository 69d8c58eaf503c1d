"""A disturbance curriculum: the push / initial-perturbation scale grows with success.

    level ∈ [0, 1], factor = 1 + level · (max_factor − 1)

After every `window` episodes: success rate ≥ `promote` → level += step; ≤ `demote` →
level −= step (legged_gym's terrain curriculum promotes and demotes the same way). The
factor multiplies the push velocity (floating bases) and the task's initial-state noise
(`Task.disturbance`; the cartpole's initial pole angle / velocity range).

`state_dict()` / `load_state_dict()` carry the level and the current window's results
through a checkpoint as plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sim.state_validators import bool_list, finite_float, require_dict


@dataclass
class CurriculumConfig:
    window: int = 10
    promote: float = 0.8
    demote: float = 0.3
    step: float = 0.1
    max_factor: float = 2.0


@dataclass
class Curriculum:
    config: CurriculumConfig = field(default_factory=CurriculumConfig)
    level: float = 0.0
    _results: list[bool] = field(default_factory=list)
    journal: list[bool] | None = None
    """Every `report` since the journal was last emptied, when not None (as
    AutomaticDomainRandomization.journal); not part of the state."""

    @property
    def factor(self) -> float:
        return 1.0 + self.level * (self.config.max_factor - 1.0)

    def report(self, success: bool) -> None:
        c = self.config
        if self.journal is not None:
            self.journal.append(bool(success))
        self._results.append(bool(success))
        if len(self._results) < c.window:
            return
        rate = sum(self._results) / len(self._results)
        self._results.clear()
        if rate >= c.promote:
            self.level = min(1.0, self.level + c.step)
        elif rate <= c.demote:
            self.level = max(0.0, self.level - c.step)

    def state_dict(self) -> dict[str, Any]:
        """{"level": float, "results": [bool, ...]} (the results of the current window)."""
        return {"level": float(self.level), "results": [bool(r) for r in self._results]}

    def load_state_dict(self, state: Any) -> None:
        """Continue from a `state_dict()`: the level is clamped into [0, 1], the results
        keep at most the last window − 1. ValueError, changing nothing, when malformed."""
        state = require_dict(state, "curriculum state")
        level = finite_float(state.get("level"), "curriculum 'level'")
        results = bool_list(state.get("results"), "curriculum 'results'")
        keep = max(self.config.window - 1, 0)
        self.level = min(max(level, 0.0), 1.0)
        self._results = results[-keep:] if keep else []
