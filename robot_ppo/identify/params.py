"""Which dynamics parameters to fit, and where CMA-ES may look for them.

Candidates are the spec's randomizable parameters: those whose `randomized` range (the
spec's `randomization.ranges`, else `sim.randomization.PARAMS`) has a width. Left out
always are the sensor-side ones (`OBSERVATION_SIDE`): a replay starts from logged states,
which already carry the sensor's latency and bias, so the replay cannot tell their values.
Of the rest, the default keeps those the logs inform (`params_the_logs_inform`: moving the
parameter changes the replayed trajectories at all), so a cartpole drops `friction` (no
ground contact) and `kp_scale` (torque control).

Search bounds: the hull of the training and shifted ranges, widened by one training width
on each side (the real robot may lie beyond both), and never past `PHYSICAL_MIN`; or the
user's `NAME=LOW:HIGH`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec
from sim.randomization import PARAM_NAMES, PARAMS, parse_randomization

OBSERVATION_SIDE = ("obs_latency_s", "gyro_bias_x", "gyro_bias_y", "gyro_bias_z")

PHYSICAL_MIN: dict[str, float] = {
    "mass_scale": 0.05, "inertia_scale": 0.05, "friction": 0.0, "motor_strength": 0.0,
    "kp_scale": 0.0, "kd_scale": 0.0, "joint_damping": 0.0, "joint_friction": 0.0,
    "action_latency_s": 0.0,
}
"""Below these a parameter means nothing physical (the simulator floors a link's mass at
5 % of nominal); the others (payload, gravity tilt) may be negative."""

SENSITIVITY_FLOOR = 1e-3
"""A parameter moved by a quarter of its search width that changes the replayed states by
less than this (RMS, in units of each dimension's spread) is not informed by the logs."""


@dataclass(frozen=True)
class FitParam:
    name: str
    nominal: float
    low: float
    high: float
    """Search bounds."""

    def probes(self) -> list[float]:
        """Values a quarter of the search width either side of nominal, inside the bounds."""
        step = 0.25 * (self.high - self.low)
        return [v for v in (self.nominal - step, self.nominal + step)
                if self.low <= v <= self.high]


def default_bounds(spec: RobotSpec, name: str) -> tuple[float, float]:
    cfg = parse_randomization(spec.randomization)
    (tlo, thi), (slo, shi) = cfg.ranges[name], cfg.shifted[name]
    width = thi - tlo
    nominal = PARAMS[name].nominal
    lo = min(tlo, slo, nominal) - width
    hi = max(thi, shi, nominal) + width
    return max(lo, PHYSICAL_MIN.get(name, -math.inf)), hi


def candidates(spec: RobotSpec) -> list[str]:
    """The spec's randomizable parameters that a replay can fit (see module doc)."""
    ranges = parse_randomization(spec.randomization).ranges
    return [n for n in PARAM_NAMES
            if n not in OBSERVATION_SIDE and ranges[n][1] > ranges[n][0]]


def _bounds(item: str, name: str, text: str) -> tuple[float, float]:
    try:
        lo_s, hi_s = text.split(":")
        lo, hi = float(lo_s), float(hi_s)
    except ValueError:
        raise UserError(f"--params {item!r}: bounds must be LOW:HIGH, e.g. {name}=0.5:2.0"
                        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise UserError(f"--params {item!r}: need finite LOW < HIGH")
    floor = PHYSICAL_MIN.get(name, -math.inf)
    if lo < floor:
        raise UserError(f"--params {item!r}: {name} cannot be below {floor}")
    return lo, hi


def parse_params(spec: RobotSpec, text: str) -> list[FitParam]:
    """`--params` (comma-separated NAME or NAME=LOW:HIGH) -> FitParams; empty -> every
    candidate (the caller then keeps those the logs inform)."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        names = candidates(spec)
        if not names:
            raise UserError(f"robot {spec.name!r} randomizes no dynamics parameter a replay "
                            "can fit; name them with --params NAME=LOW:HIGH")
        return [FitParam(n, PARAMS[n].nominal, *default_bounds(spec, n)) for n in names]
    out: list[FitParam] = []
    for item in items:
        name, _, rest = item.partition("=")
        name = name.strip()
        if name not in PARAMS:
            raise UserError(f"--params: unknown parameter {name!r}. Known: "
                            f"{', '.join(n for n in PARAM_NAMES if n not in OBSERVATION_SIDE)}")
        if name in OBSERVATION_SIDE:
            raise UserError(f"--params: {name} acts on the sensors only, and a replay starts "
                            "from logged states that already carry it: it cannot be fitted")
        if any(p.name == name for p in out):
            raise UserError(f"--params: {name} is named twice")
        if rest:
            lo, hi = _bounds(item, name, rest)
        else:
            lo, hi = default_bounds(spec, name)
            if hi - lo <= 0:
                raise UserError(f"--params: {name} has no randomization range in the spec "
                                f"to search around; give bounds, e.g. {name}=LOW:HIGH")
        nominal = min(max(PARAMS[name].nominal, lo), hi)
        out.append(FitParam(name, nominal, lo, hi))
    return out
