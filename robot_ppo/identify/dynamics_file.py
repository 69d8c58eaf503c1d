"""The identified dynamics as a dynamics YAML file (the format `--dynamics FILE` reads,
`sim.dynamics`): `base` plus a `ranges` entry [low, high] per fitted parameter, each
centred on its estimate. Checked by loading it back before it is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from robot_ppo.atomic_write import atomic_write
from robot_ppo.spec import RobotSpec


@dataclass(frozen=True)
class FittedRange:
    name: str
    estimate: float
    low: float
    high: float


def _num(x: float) -> float:
    """Six significant digits: the file is read by people too."""
    return float(f"{x:.6g}")


def dynamics_text(ranges: list[FittedRange], base: str, header: list[str]) -> str:
    lines = [f"# {h}" for h in header]
    lines += [f"base: {base}", "ranges:"]
    for r in ranges:
        lines.append(f"  {r.name}: [{_num(r.low)}, {_num(r.high)}]   # estimate "
                     f"{_num(r.estimate)}")
    return "\n".join(lines) + "\n"


def write_dynamics(path: Path, spec: RobotSpec, ranges: list[FittedRange], base: str,
                   header: list[str]) -> str:
    """Write the file atomically after `sim.dynamics.resolve_dynamics` accepted its text."""
    from sim.dynamics import resolve_dynamics

    text = dynamics_text(ranges, base, header)
    resolve_dynamics(spec, yaml.safe_load(text))  # raises if the format ever drifts
    atomic_write(path, text)
    return text
