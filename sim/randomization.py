"""Domain-randomization parameters as plain data: names, nominal values, training ranges.

Every value here is one physical knob of the simulated robot (`sim.dynamics` applies them).
Defaults are grounded in /work/shared/reference/sim2real.md (Tan et al. 2018 = Minitaur
randomizer, legged_gym = ETH's config); where no reference gives a value the comment says
"our choice". docs/simulation.md lists every row.

A robot spec's `randomization:` section overrides these (`parse_randomization` validates
it and names the offending key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from robot_ppo.spec import SpecError


@dataclass(frozen=True)
class Param:
    nominal: float
    train: tuple[float, float]
    """Training range (the `randomized` set samples uniformly from it at every reset)."""
    harder: int
    """+1 if larger values are harder (the `shifted` set goes above the range), -1 if smaller."""
    drifts: bool = False
    """Whether the in-episode random walk moves this parameter."""
    ref: str = "our choice"


PARAMS: dict[str, Param] = {
    "mass_scale": Param(1.0, (0.8, 1.2), +1, True, "Tan 2018 link mass 0.8–1.2×"),
    "inertia_scale": Param(1.0, (0.5, 1.5), +1, False, "Tan 2018 inertia 0.5–1.5×"),
    "payload_kg": Param(0.0, (0.0, 0.0), +1, True,
                        "legged_gym added base mass −1…1 kg; per robot in its spec"),
    "friction": Param(1.0, (0.5, 1.25), -1, True, "Tan 2018 / legged_gym lateral friction"),
    "motor_strength": Param(1.0, (0.8, 1.2), -1, True, "Tan 2018 motor strength 0.8–1.2×"),
    "kp_scale": Param(1.0, (0.8, 1.2), -1, True, "our choice (as motor strength)"),
    "kd_scale": Param(1.0, (0.8, 1.2), -1, True, "our choice (as motor strength)"),
    "joint_damping": Param(0.0, (0.0, 0.05), +1, True, "Tan 2018 viscous damping, N·m·s/rad"),
    "joint_friction": Param(0.0, (0.0, 0.05), +1, True, "Tan 2018 Coulomb friction, N·m"),
    "action_latency_s": Param(0.0, (0.0, 0.02), +1, False,
                              "Tan 2018 latency 0–0.04 s, split action/observation"),
    "obs_latency_s": Param(0.0, (0.0, 0.02), +1, False,
                           "Tan 2018 latency 0–0.04 s, split action/observation"),
    "gyro_bias_x": Param(0.0, (-0.05, 0.05), +1, False, "our choice, rad/s"),
    "gyro_bias_y": Param(0.0, (-0.05, 0.05), +1, False, "our choice, rad/s"),
    "gyro_bias_z": Param(0.0, (-0.05, 0.05), +1, False, "our choice, rad/s"),
    "gravity_tilt_x": Param(0.0, (-0.03, 0.03), +1, False, "our choice, rad (ground slope)"),
    "gravity_tilt_y": Param(0.0, (-0.03, 0.03), +1, False, "our choice, rad (ground slope)"),
}
PARAM_NAMES: tuple[str, ...] = tuple(PARAMS)
"""Fixed order of the dynamics vector (privileged observation, info['dynamics'])."""

SHIFT_FRACTION = 0.5
"""Default shifted range: the band of width 0.5·(training width) just beyond the training
range on the harder side (so it never overlaps the training distribution)."""


@dataclass(frozen=True)
class DriftConfig:
    rate: float = 0.1
    """Random-walk std per sqrt(second), as a fraction of the parameter's range width."""
    event_rate: float = 0.05
    """Sudden changes (payload jump or friction patch) per second (Poisson)."""
    period_s: float = 0.1
    """How often drift is integrated and pushed into the physics engine."""


@dataclass(frozen=True)
class PushConfig:
    interval_s: float = 8.0
    """Mean seconds between pushes (legged_gym: 15 s). 0 disables pushes."""
    velocity: float = 0.5
    """Largest horizontal velocity change of the base, m/s (legged_gym: up to 1 m/s)."""


@dataclass(frozen=True)
class RandomizationConfig:
    """A robot's randomization settings after the spec's overrides."""

    ranges: dict[str, tuple[float, float]]
    shifted: dict[str, tuple[float, float]]
    drift: DriftConfig = DriftConfig()
    push: PushConfig = PushConfig()
    payload_link: str | None = None
    """Link that carries the payload (None: the base for floating robots, else the last link)."""
    obs_noise: bool = True
    """Whether the spec's observation noise is applied in the randomized/shifted sets."""
    extra: dict[str, Any] = field(default_factory=dict)


def default_shifted(name: str, lo: float, hi: float) -> tuple[float, float]:
    p = PARAMS[name]
    w = (hi - lo) * SHIFT_FRACTION
    if w == 0.0:
        return (lo, hi)
    if name.startswith(("gyro_bias", "gravity_tilt")):
        return (hi, hi + w)  # symmetric ranges: shift to one side, outside
    return (hi, hi + w) if p.harder > 0 else (max(lo - w, 0.0), lo)


def _range(value: Any, where: str) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value), float(value))
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            raise SpecError(f"randomization: '{where}' needs low <= high, got {value}")
        return (lo, hi)
    raise SpecError(f"randomization: '{where}' must be a number or [low, high], got {value!r}")


def _ranges(data: Any, where: str) -> dict[str, tuple[float, float]]:
    if not isinstance(data, dict):
        raise SpecError(f"randomization: '{where}' must be a mapping of parameter: [low, high]")
    out = {}
    for key, value in data.items():
        if key not in PARAMS:
            raise SpecError(f"randomization: unknown parameter '{where}.{key}'. Known: "
                            f"{', '.join(PARAM_NAMES)}")
        out[key] = _range(value, f"{where}.{key}")
    return out


def _number(data: dict[str, Any], key: str, where: str, default: float) -> float:
    v = data.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise SpecError(f"randomization: '{where}.{key}' must be a number >= 0, got {v!r}")
    return float(v)


def _section(data: dict[str, Any], key: str, known: tuple[str, ...]) -> dict[str, Any]:
    sec = data.get(key, {}) or {}
    if not isinstance(sec, dict):
        raise SpecError(f"randomization: '{key}' must be a mapping, got {sec!r}")
    extra = sorted(set(sec) - set(known))
    if extra:
        raise SpecError(f"randomization: unknown key(s) {', '.join(f'{key}.{e}' for e in extra)}"
                        f". Known: {', '.join(known)}")
    return sec


SECTION_KEYS = ("ranges", "shifted", "drift", "push", "payload_link", "obs_noise")


def parse_randomization(data: Any) -> RandomizationConfig:
    """Validate a spec's `randomization:` mapping (schema in docs/robot_spec.md)."""
    data = data or {}
    if not isinstance(data, dict):
        raise SpecError(f"randomization must be a mapping, got {data!r}")
    extra = sorted(set(data) - set(SECTION_KEYS))
    if extra:
        raise SpecError(f"randomization: unknown key(s) {', '.join(extra)}. "
                        f"Known: {', '.join(SECTION_KEYS)}")
    ranges = {k: p.train for k, p in PARAMS.items()}
    ranges.update(_ranges(data.get("ranges", {}) or {}, "ranges"))
    shifted = {k: default_shifted(k, *r) for k, r in ranges.items()}
    shifted.update(_ranges(data.get("shifted", {}) or {}, "shifted"))
    d = _section(data, "drift", ("rate", "event_rate", "period_s"))
    drift = DriftConfig(rate=_number(d, "rate", "drift", DriftConfig.rate),
                        event_rate=_number(d, "event_rate", "drift", DriftConfig.event_rate),
                        period_s=_number(d, "period_s", "drift", DriftConfig.period_s))
    if drift.period_s <= 0:
        raise SpecError("randomization: 'drift.period_s' must be > 0")
    pu = _section(data, "push", ("interval_s", "velocity"))
    push = PushConfig(interval_s=_number(pu, "interval_s", "push", PushConfig.interval_s),
                      velocity=_number(pu, "velocity", "push", PushConfig.velocity))
    link = data.get("payload_link")
    if link is not None and (not isinstance(link, str) or not link):
        raise SpecError(f"randomization: 'payload_link' must be a link name, got {link!r}")
    noise = data.get("obs_noise", True)
    if not isinstance(noise, bool):
        raise SpecError(f"randomization: 'obs_noise' must be true or false, got {noise!r}")
    return RandomizationConfig(ranges=ranges, shifted=shifted, drift=drift, push=push,
                               payload_link=link, obs_noise=noise)
