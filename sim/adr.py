"""Automatic domain randomization (ADR): ranges that grow while the policy copes.

After OpenAI et al. 2019 ("Solving Rubik's Cube with a Robot Hand"): each parameter
has a current range [lo, hi] inside hard limits. With probability `boundary_prob` an
episode pins one parameter at one of its current boundaries (the others are sampled
uniformly from their current ranges). The episode's performance goes into the queue
of that (parameter, boundary). When the queue holds `queue_size` results:

    mean >= high_threshold  ->  move the boundary outwards by `step` (wider range)
    mean <= low_threshold   ->  move it inwards by `step`, never inside the initial range

and the queue is cleared. With `relative=True` both thresholds are fractions of a reference
instead: the mean performance of the last `reference_window` unpinned episodes, i.e. how
well the policy does on the current ranges. So a boundary widens when it costs at most
(1 − high_threshold) of that, whatever the policy's level, and none widens while the reference
is below MIN_REFERENCE (a policy that does not do the task yet). For a task whose
performance is far from saturating (the quadruped's walk score in training averages about
0.65 once it walks) absolute thresholds mostly measure how good the policy is, not how hard
the boundary is. With `sides="hard"` only each parameter's harder boundary is probed and
moved (both for a parameter hard at either end, `harder` 0); the easier one stays at its
initial value, so all the growth in entropy goes where the robot finds it harder. Parameters
named in `fixed` keep
their initial range (drawn from it, never pinned, never moved): knobs whose spread the user
knows, or whose harder end the robot cannot survive together with the others' (the
quadruped's motors and gains, docs/robustness.md). The randomization entropy Σ log(hi - lo) is
what to log: it grows as the curriculum widens.

`state_dict()` / `load_state_dict()` carry the ranges, the boundary queues and the
reference through a checkpoint as plain dicts, lists and floats (checks: sim/state_validators.py).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from sim.state_validators import float_list, number_pair, require_dict

MIN_REFERENCE = 0.2
"""Relative thresholds: no boundary widens while the reference is below this (a policy that
does not do the task yet). It was an option (--adr-min-reference) that only a rejected row
changed (docs/robustness_history.md)."""

AdrSides = Literal["both", "hard"]
"""Which range boundaries ADR moves (`AdrConfig.sides`)."""


@dataclass
class AdrParam:
    """One randomized parameter: its initial range, hard limits and step."""

    name: str
    initial: tuple[float, float]
    limits: tuple[float, float]
    step: float
    harder: int = 0
    """+1 if larger values are harder for the robot, -1 if smaller, 0 if both ends are (a
    bias or a slope about nominal 0: sides "hard" then moves both)."""

    def __post_init__(self) -> None:
        lo, hi = self.initial
        if not self.limits[0] <= lo <= hi <= self.limits[1]:
            raise ValueError(f"ADR parameter {self.name!r}: initial range {self.initial} must lie "
                             f"inside its limits {self.limits}")
        if self.step <= 0:
            raise ValueError(f"ADR parameter {self.name!r}: step must be > 0")

    def reachable(self, lo: float, hi: float) -> tuple[float, float]:
        """(lo, hi) clamped into the ranges ADR can reach: lo into [limits lo, initial lo],
        hi into [initial hi, limits hi]."""
        return (min(max(lo, self.limits[0]), self.initial[0]),
                max(min(hi, self.limits[1]), self.initial[1]))


@dataclass
class AdrConfig:
    queue_size: int = 20
    """Episodes per (parameter, boundary) before a range is updated."""
    high_threshold: float = 0.8
    """Normalized performance at a boundary above which the range widens."""
    low_threshold: float = 0.4
    """Normalized performance at a boundary below which the range narrows."""
    boundary_prob: float = 0.5
    """Probability that an episode pins one parameter at a boundary."""
    sides: AdrSides = "both"
    """Which boundaries are probed and moved: "both", or "hard": only each parameter's harder
    one (`AdrParam.harder`; both for a parameter with harder 0), the other stays at its
    initial value."""
    fixed: tuple[str, ...] = ()
    """Parameters kept at their initial range: still drawn from it in every episode, but
    never pinned at a boundary and never widened or narrowed."""

    relative: bool = False
    """Thresholds as fractions of the reference performance (the mean of the last
    `reference_window` unpinned episodes) instead of absolute values."""
    reference_window: int = 50
    """Unpinned episodes whose mean performance is the reference (relative thresholds)."""

    def __post_init__(self) -> None:
        if self.reference_window < 1:
            raise ValueError("ADR reference_window must be >= 1")
        if self.sides not in ("both", "hard"):
            raise ValueError(f"ADR sides must be 'both' or 'hard', not {self.sides!r}")


@dataclass
class AdrState:
    lo: dict[str, float] = field(default_factory=dict)
    hi: dict[str, float] = field(default_factory=dict)


class AutomaticDomainRandomization:
    """Keeps the current ranges and the boundary performance queues."""

    def __init__(self, params: list[AdrParam], config: AdrConfig | None = None):
        self.config = config or AdrConfig()
        fixed = set(self.config.fixed)
        # a fixed parameter's hard limits are its initial range, so nothing (a report, a
        # loaded state) can move it; it is also never pinned (`sample`)
        self.params = {p.name: replace(p, limits=p.initial) if p.name in fixed else p
                       for p in params}
        self._movable = [p.name for p in params if p.name not in fixed]
        self.lo = {p.name: p.initial[0] for p in params}
        self.hi = {p.name: p.initial[1] for p in params}
        self._queues: dict[tuple[str, str], list[float]] = {
            (p.name, side): [] for p in params for side in ("lo", "hi")}
        self._reference: deque[float] = deque(maxlen=self.config.reference_window)
        self.journal: list[tuple[tuple[str, str] | None, float]] | None = None
        """Every `report` since the journal was last emptied, when not None (torchrun's
        merge of all ranks' episodes, robot_ppo/train/distributed_sync.py); None: not kept."""

    def sample(self, rng: np.random.Generator) -> tuple[dict[str, float], tuple[str, str] | None]:
        """Draw one episode's parameters; returns (values, pinned (name, 'lo'|'hi') or None)."""
        values = {n: float(rng.uniform(self.lo[n], self.hi[n])) for n in self.params}
        pinned = None
        if self._movable and rng.random() < self.config.boundary_prob:
            names = self._movable
            name = names[int(rng.integers(len(names)))]
            side = "lo" if rng.random() < 0.5 else "hi"
            harder = self.params[name].harder
            if self.config.sides == "hard" and harder:
                # the same draws as with both sides, so the two modes share a random stream
                side = "hi" if harder > 0 else "lo"
            values[name] = self.lo[name] if side == "lo" else self.hi[name]
            pinned = (name, side)
        return values, pinned

    def report(self, pinned: tuple[str, str] | None, performance: float) -> bool:
        """Record an episode's normalized performance; True if a range changed.

        An unpinned episode feeds the reference, a pinned one its
        boundary's queue."""
        if self.journal is not None:
            self.journal.append((pinned, performance))
        if pinned is None:
            self._reference.append(performance)
            return False
        queue = self._queues[pinned]
        queue.append(performance)
        if len(queue) < self.config.queue_size:
            return False
        mean = sum(queue) / len(queue)
        queue.clear()
        name, side = pinned
        p = self.params[name]
        high, low = self.thresholds()
        if high is not None and mean >= high:
            delta = p.step
        elif mean <= low:
            delta = -p.step
        else:
            return False
        if side == "hi":
            new = min(max(self.hi[name] + delta, p.initial[1]), p.limits[1])
            changed, self.hi[name] = new != self.hi[name], new
        else:
            new = max(min(self.lo[name] - delta, p.initial[0]), p.limits[0])
            changed, self.lo[name] = new != self.lo[name], new
        return changed

    def reference(self) -> float:
        """Mean performance of the last `reference_window` unpinned episodes (0 before any)."""
        return sum(self._reference) / len(self._reference) if self._reference else 0.0

    def thresholds(self) -> tuple[float | None, float]:
        """(widen at or above, narrow at or below) for a boundary's mean performance; widen
        is None while relative thresholds wait for the reference to reach MIN_REFERENCE."""
        c = self.config
        if not c.relative:
            return c.high_threshold, c.low_threshold
        ref = self.reference()
        return (c.high_threshold * ref if ref >= MIN_REFERENCE else None,
                c.low_threshold * ref)

    def entropy(self) -> float:
        """Σ log(hi - lo) over parameters with a non-zero width (nats)."""
        return sum(math.log(self.hi[n] - self.lo[n]) for n in self.params
                   if self.hi[n] > self.lo[n])

    def ranges(self) -> dict[str, tuple[float, float]]:
        return {n: (self.lo[n], self.hi[n]) for n in self.params}

    def reach(self) -> dict[str, tuple[float, float]]:
        """The widest ranges this ADR can grow to: each end that can move at its hard limit,
        the rest at the initial range (fixed parameters; with sides "hard", the easier end
        of a parameter with a harder side)."""
        out = {}
        for n, p in self.params.items():
            lo, hi = p.limits  # a fixed parameter's limits are its initial range
            if self.config.sides == "hard" and p.harder:
                lo, hi = (p.initial[0], hi) if p.harder > 0 else (lo, p.initial[1])
            out[n] = (lo, hi)
        return out

    def state_dict(self) -> dict[str, Any]:
        """Ranges, boundary queues and the reference episodes as plain data:
        {"ranges": {name: [lo, hi]}, "queues": {name: {"lo": [perf...], "hi": [perf...]}},
        "reference": [perf...]}."""
        return {
            "ranges": {n: [float(self.lo[n]), float(self.hi[n])] for n in self.params},
            "queues": {n: {side: [float(x) for x in self._queues[(n, side)]]
                           for side in ("lo", "hi")} for n in self.params},
            "reference": [float(x) for x in self._reference],
        }

    def load_state_dict(self, state: Any) -> list[str]:
        """Continue from a `state_dict()`; returns the names it holds that this ADR lacks.

        Those names are ignored; parameters the state lacks keep their current range and
        queues. Each loaded range is clamped into what ADR itself can reach: lo into
        [limits lo, initial lo], hi into [initial hi, limits hi] (never outside `limits`,
        never inside the initial range). A queue keeps at most its last queue_size − 1
        results; the reference keeps its last reference_window (a state without one, from
        an older checkpoint, starts it empty). Raises ValueError, changing nothing, when the
        state is malformed.
        """
        state = require_dict(state, "ADR state")
        ranges = require_dict(state.get("ranges"), "ADR state 'ranges'")
        queues = require_dict(state.get("queues"), "ADR state 'queues'")
        new_ranges: dict[str, tuple[float, float]] = {}
        for name, value in ranges.items():
            lo, hi = number_pair(value, f"ADR range {name!r}")
            if name in self.params:
                new_ranges[name] = self.params[name].reachable(lo, hi)
        keep = max(self.config.queue_size - 1, 0)
        new_queues: dict[tuple[str, str], list[float]] = {}
        for name, value in queues.items():
            sides = require_dict(value, f"ADR queues {name!r}")
            for side in ("lo", "hi"):
                results = float_list(sides.get(side, []), f"ADR queue {name!r} {side!r}")
                if name in self.params:
                    new_queues[(name, side)] = results[-keep:] if keep else []
        reference = float_list(state.get("reference", []), "ADR state 'reference'")
        for name, (lo, hi) in new_ranges.items():
            self.lo[name], self.hi[name] = lo, hi
        self._reference.clear()
        self._reference.extend(reference)
        for key, results in new_queues.items():
            self._queues[key] = results
        return sorted((set(ranges) | set(queues)) - set(self.params))
