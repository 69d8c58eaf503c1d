"""Dynamics sets (nominal / randomized / shifted / file) and the in-episode dynamics process.

A `DynamicsSet` says where each parameter of `sim.randomization.PARAMS` is drawn from at
reset, and whether it drifts during the episode. `DynamicsProcess` holds the current values:

  reset:  x_i ~ U(low_i, high_i)
  drift:  x_i <- clip(x_i + rate · (high_i − low_i) · sqrt(Δt) · N(0, 1), low_i, high_i)
          (a clipped Gaussian random walk, integrated every `period_s`)
  events: with probability 1 − exp(−event_rate · Δt) per period, a sudden change: either a
          payload jump (payload_kg ~ U(range)) or a friction patch (friction ~ U(range)).

Sampling uses the generator it is given, never a global one, so a seed fixes the episode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec, SpecError
from sim.randomization import (
    PARAM_NAMES,
    PARAMS,
    DriftConfig,
    PushConfig,
    _number,
    _ranges,
    _section,
    parse_randomization,
)

DYNAMICS_SETS = ("nominal", "randomized", "shifted")


@dataclass(frozen=True)
class DynamicsSet:
    name: str
    ranges: dict[str, tuple[float, float]]
    drift: DriftConfig | None
    """None: parameters stay at their reset values for the whole episode."""
    push: PushConfig | None
    obs_noise: bool
    payload_link: str | None = None

    @property
    def max_latency_s(self) -> float:
        return max(self.ranges["action_latency_s"][1], self.ranges["obs_latency_s"][1])

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ranges": {k: list(v) for k, v in self.ranges.items()},
                "drift": None if self.drift is None else vars(self.drift),
                "push": None if self.push is None else vars(self.push),
                "obs_noise": self.obs_noise, "payload_link": self.payload_link}


def _builtin(spec: RobotSpec, name: str) -> DynamicsSet:
    cfg = parse_randomization(spec.randomization)
    if name == "nominal":
        point = {k: (p.nominal, p.nominal) for k, p in PARAMS.items()}
        return DynamicsSet("nominal", point, None, None, False, cfg.payload_link)
    ranges = cfg.ranges if name == "randomized" else cfg.shifted
    push = cfg.push if (spec.base == "floating" and cfg.push.interval_s > 0) else None
    return DynamicsSet(name, dict(ranges), cfg.drift, push, cfg.obs_noise, cfg.payload_link)


FILE_KEYS = ("base", "ranges", "drift", "push", "obs_noise")


def _from_mapping(spec: RobotSpec, data: Any, origin: str) -> DynamicsSet:
    if not isinstance(data, dict):
        raise UserError(f"dynamics {origin}: must be a mapping with keys {', '.join(FILE_KEYS)}")
    extra = sorted(set(data) - set(FILE_KEYS))
    if extra:
        raise UserError(f"dynamics {origin}: unknown key(s) {', '.join(extra)}. "
                        f"Known: {', '.join(FILE_KEYS)}")
    base = data.get("base", "nominal")
    if base not in DYNAMICS_SETS:
        raise UserError(f"dynamics {origin}: 'base' must be one of {', '.join(DYNAMICS_SETS)}, "
                        f"got {base!r}")
    dset = _builtin(spec, base)
    try:
        ranges = dict(dset.ranges)
        ranges.update(_ranges(data.get("ranges", {}) or {}, "ranges"))
        drift = dset.drift
        if "drift" in data:
            if data["drift"] is False or data["drift"] is None:
                drift = None
            else:
                d = _section(data, "drift", ("rate", "event_rate", "period_s"))
                dd = drift or DriftConfig()
                drift = DriftConfig(_number(d, "rate", "drift", dd.rate),
                                    _number(d, "event_rate", "drift", dd.event_rate),
                                    _number(d, "period_s", "drift", dd.period_s) or dd.period_s)
        push = dset.push
        if "push" in data:
            if data["push"] is False or data["push"] is None:
                push = None
            else:
                pu = _section(data, "push", ("interval_s", "velocity"))
                pp = push or PushConfig()
                push = PushConfig(_number(pu, "interval_s", "push", pp.interval_s),
                                  _number(pu, "velocity", "push", pp.velocity))
    except SpecError as exc:
        raise UserError(f"dynamics {origin}: {exc}") from None
    noise = data.get("obs_noise", dset.obs_noise)
    if not isinstance(noise, bool):
        raise UserError(f"dynamics {origin}: 'obs_noise' must be true or false")
    return replace(dset, name=origin, ranges=ranges, drift=drift, push=push, obs_noise=noise)


def resolve_dynamics(spec: RobotSpec, dynamics: str | Path | dict[str, Any] | DynamicsSet
                     ) -> DynamicsSet:
    """'nominal' | 'randomized' | 'shifted' | 'adr' | a YAML file | a mapping -> DynamicsSet."""
    if isinstance(dynamics, DynamicsSet):
        return dynamics
    if isinstance(dynamics, dict):
        return _from_mapping(spec, dynamics, "mapping")
    text = str(dynamics)
    if text == "adr":  # randomized, with ranges from automatic domain randomization
        from sim.adr_dynamics import adr_dynamics_set
        return adr_dynamics_set(spec, _builtin(spec, "randomized"))
    if text in DYNAMICS_SETS:
        return _builtin(spec, text)
    path = Path(text)
    if not path.is_file():
        raise UserError(f"unknown dynamics {text!r}: use one of {', '.join(DYNAMICS_SETS)}, adr or "
                        "a path to a dynamics YAML file (see docs/simulation.md).")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"dynamics file {text!r} is not valid YAML: {exc}") from None
    return _from_mapping(spec, data or {}, text)


class DynamicsProcess:
    """Current dynamics parameters of one episode: sampled at reset, drifting afterwards."""

    def __init__(self, dset: DynamicsSet):
        self.dset = dset
        self.low = np.array([dset.ranges[k][0] for k in PARAM_NAMES])
        self.high = np.array([dset.ranges[k][1] for k in PARAM_NAMES])
        self.width = self.high - self.low
        drifting = [PARAMS[k].drifts for k in PARAM_NAMES]
        self.drift_mask = np.array(drifting) & (self.width > 0)
        self.values = np.array([PARAMS[k].nominal for k in PARAM_NAMES])
        self.index = {k: i for i, k in enumerate(PARAM_NAMES)}
        self._since = 0.0
        self.events = 0

    def __getitem__(self, name: str) -> float:
        return float(self.values[self.index[name]])

    def reset(self, rng: np.random.Generator) -> None:
        self.values = rng.uniform(self.low, self.high)
        self._since = 0.0
        self.events = 0

    def advance(self, rng: np.random.Generator, dt: float) -> bool:
        """Advance by `dt` seconds; True when the values changed (the caller re-applies them)."""
        drift = self.dset.drift
        if drift is None:
            return False
        self._since += dt
        if self._since + 1e-12 < drift.period_s:
            return False
        h, self._since = self._since, 0.0
        if drift.rate > 0 and self.drift_mask.any():
            step = drift.rate * self.width * math.sqrt(h) * rng.standard_normal(self.width.size)
            self.values = np.where(self.drift_mask,
                                   np.clip(self.values + step, self.low, self.high), self.values)
        if drift.event_rate > 0 and rng.random() < 1.0 - math.exp(-drift.event_rate * h):
            key = "payload_kg" if rng.random() < 0.5 else "friction"
            i = self.index[key]
            if self.width[i] > 0:
                self.values[i] = rng.uniform(self.low[i], self.high[i])
                self.events += 1
        return True

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in zip(PARAM_NAMES, self.values)}
