"""Robot spec: the one description of a robot that every stage reads.

A spec is a YAML file (schema in docs/robot_spec.md). `load_spec(name_or_path)`
accepts a built-in name (`cartpole`, `arm`, `quadruped`) or a path to a YAML
file and returns a validated, immutable `RobotSpec`. Errors name the field and
the problem (`SpecError`, a `UserError`).

`spec_hash` identifies the robot *interface*: joints, limits, gains, rates,
observation and action layout and the task. Domain-randomization settings are
excluded, since they change training, not what the robot sends or accepts.
The hash is checked in the serial handshake, stored in checkpoints, in ONNX
metadata and in rollout logs. The optional `bus:` section (which servo bus, servo
models and calibration) is excluded too: units are converted at the bus boundary, so
the policy sees the same robot whatever the wiring, a re-zeroed servo does not
invalidate a policy, and a spec without it hashes exactly as before.

The bus section's types and reading live in robot_ppo/spec_bus.py, the field reader in
robot_ppo/spec_reader.py.

This module is part of the light core: numpy and yaml only.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from robot_ppo.spec_bus import BusSpec, read_bus
from robot_ppo.spec_reader import FieldReader, SpecError

BUILTIN_DIR = Path(__file__).parent / "robots"

OBS_TERMS = ("joint_pos", "joint_vel", "joint_effort", "base_ang_vel", "projected_gravity",
             "command", "last_action")
"""Observation terms the shared builder knows (see robot_ppo.observation)."""

ACTION_MODES = ("position", "torque")
"""`bus.protocol` values: our own firmware protocol, Dynamixel Protocol 2.0, Feetech STS/SCS."""
CONTROL_MODES = ("pd", "off")


@dataclass(frozen=True)
class JointSpec:
    """One joint, in bus order."""

    name: str
    motor_id: int
    position_limits: tuple[float, float]
    velocity_limit: float
    effort_limit: float
    default_position: float = 0.0
    kp: float = 0.0
    kd: float = 0.0
    actuated: bool = True
    """False for a sensed-only joint (an encoder, e.g. the cartpole's pole)."""


@dataclass(frozen=True)
class ObsTerm:
    name: str
    scale: float = 1.0
    """Multiplies the physical value (after noise)."""
    noise: float = 0.0
    """Uniform noise amplitude in physical units, added in simulation only."""


@dataclass(frozen=True)
class ObservationSpec:
    terms: tuple[ObsTerm, ...]
    history: int = 1
    """Number of stacked frames, newest first (1 = no history)."""


@dataclass(frozen=True)
class ActionSpec:
    mode: str
    """position: q* = default + scale*a (PD on the device); torque: tau = scale*a."""
    scale: tuple[float, ...]
    """Per actuated joint."""
    clip: float = 1.0
    """The policy output is clipped to [-clip, clip] before scaling."""


@dataclass(frozen=True)
class RatesSpec:
    physics_hz: float
    control_hz: float

    @property
    def decimation(self) -> int:
        return round(self.physics_hz / self.control_hz)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    episode_steps: int
    command: tuple[str, ...] = ()
    """Names of the command vector's components (e.g. target_x, vx)."""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RobotSpec:
    name: str
    urdf: str
    """Path relative to the spec file, absolute, or relative to pybullet_data."""
    base: str
    """'fixed' or 'floating'."""
    base_position: tuple[float, float, float]
    imu: bool
    rates: RatesSpec
    joints: tuple[JointSpec, ...]
    observation: ObservationSpec
    action: ActionSpec
    task: TaskSpec
    bus: BusSpec | None = None
    """The `bus:` section; None when the spec has none (then protocol robot_ppo)."""
    randomization: dict[str, Any] = field(default_factory=dict, compare=False)
    """Domain-randomization overrides; validated by sim, excluded from the hash."""
    source_dir: str = field(default="", compare=False)
    """Directory of the YAML file (to resolve a relative URDF); not part of the spec."""

    # ---- derived ----------------------------------------------------------------
    @property
    def n_joints(self) -> int:
        return len(self.joints)

    @property
    def actuated(self) -> tuple[JointSpec, ...]:
        return tuple(j for j in self.joints if j.actuated)

    @property
    def act_dim(self) -> int:
        return len(self.actuated)

    @property
    def gym_id(self) -> str:
        """The gymnasium id registered by `sim` for this spec's task."""
        return TASK_GYM_IDS.get(self.task.name, "RobotPPO/Custom-v0")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON safe) that `spec_from_dict` turns back into this spec."""
        out = self._base_dict()
        if self.bus is not None:  # only then: a bus-less spec's dict is as it always was
            out["bus"] = {
                "protocol": self.bus.protocol, "baudrate": self.bus.baudrate,
                "joints": {j.name: {"model": s.model, "zero_offset": s.zero_offset,
                                    "direction": s.direction, "gear_ratio": s.gear_ratio}
                           for j, s in zip(self.joints, self.bus.servos, strict=True)},
            }
        return out

    def _base_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "urdf": self.urdf,
            "base": self.base,
            "base_position": list(self.base_position),
            "imu": self.imu,
            "rates": {"physics_hz": self.rates.physics_hz, "control_hz": self.rates.control_hz},
            "joints": [
                {"name": j.name, "motor_id": j.motor_id,
                 "position_limits": list(j.position_limits),
                 "velocity_limit": j.velocity_limit, "effort_limit": j.effort_limit,
                 "default_position": j.default_position, "kp": j.kp, "kd": j.kd,
                 "actuated": j.actuated}
                for j in self.joints
            ],
            "observation": {
                "history": self.observation.history,
                "terms": [{"name": t.name, "scale": t.scale, "noise": t.noise}
                          for t in self.observation.terms],
            },
            "action": {"mode": self.action.mode, "scale": list(self.action.scale),
                       "clip": self.action.clip},
            "task": {"name": self.task.name, "episode_steps": self.task.episode_steps,
                     "command": list(self.task.command),
                     "params": copy.deepcopy(self.task.params)},  # a copy to edit freely
            "randomization": copy.deepcopy(self.randomization),
        }

    @property
    def spec_hash(self) -> str:
        """sha256 (hex) of the interface part of the spec (see module doc)."""
        data = self.to_dict()
        data.pop("randomization")
        data.pop("bus", None)  # wiring and calibration: not what the policy sees
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    def resolve_urdf(self) -> str:
        """Absolute URDF path if it exists next to the spec, else the name as given
        (PyBullet then searches its additional search path, e.g. pybullet_data)."""
        p = Path(self.urdf)
        if p.is_absolute():
            return str(p)
        if self.source_dir and (Path(self.source_dir) / p).is_file():
            return str(Path(self.source_dir) / p)
        return self.urdf


TASK_GYM_IDS = {
    "balance": "RobotPPO/CartPole-v0",
    "reach": "RobotPPO/ArmReach-v0",
    "walk": "RobotPPO/Quadruped-v0",
}
"""Task name -> registered gymnasium id (registered on `import sim`)."""


# ---- validation -------------------------------------------------------------------


def _floats(r: FieldReader, key: str, n: int, default: Any = ...) -> tuple[float, ...]:
    v = r.get(key, default)
    if not isinstance(v, list) or len(v) != n or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise r.fail(key, f"must be a list of {n} numbers, got {v!r}")
    return tuple(float(x) for x in v)


def _joint(r: FieldReader) -> JointSpec:
    lo, hi = _floats(r, "position_limits", 2)
    if not lo < hi:
        raise r.fail("position_limits", f"needs lower < upper, got [{lo}, {hi}]")
    j = JointSpec(
        name=r.text("name"),
        motor_id=r.integer("motor_id"),
        position_limits=(lo, hi),
        velocity_limit=r.num("velocity_limit", positive=True),
        effort_limit=r.num("effort_limit", positive=True),
        default_position=r.num("default_position", 0.0),
        kp=r.num("kp", 0.0, nonneg=True),
        kd=r.num("kd", 0.0, nonneg=True),
        actuated=r.flag("actuated", True),
    )
    if not lo <= j.default_position <= hi:
        raise r.fail("default_position", f"{j.default_position} is outside position_limits "
                                         f"[{lo}, {hi}]")
    r.done()
    return j


def _rates(rr: FieldReader) -> RatesSpec:
    """The `rates` section: control_hz must divide physics_hz into whole physics steps."""
    rates = RatesSpec(physics_hz=rr.num("physics_hz", positive=True),
                      control_hz=rr.num("control_hz", positive=True))
    ratio = rates.physics_hz / rates.control_hz
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
        raise rr.fail("control_hz", f"must divide physics_hz ({rates.physics_hz}) into a whole "
                                    f"number of steps, got {rates.control_hz}")
    rr.done()
    return rates


def _joints(r: FieldReader, origin: str) -> tuple[JointSpec, ...]:
    """The `joints` list: at least one, names and motor ids unique, one actuated or more."""
    raw_joints = r.seq("joints")
    if not raw_joints:
        raise r.fail("joints", "must list at least one joint")
    joints = tuple(_joint(FieldReader(j, f"joints[{i}]", origin)) for i, j in enumerate(raw_joints))
    for what in ("name", "motor_id"):
        values = [getattr(j, what) for j in joints]
        dup = {v for v in values if values.count(v) > 1}
        if dup:
            v = sorted(dup)[0]
            clash = [j.name for j in joints if getattr(j, what) == v]
            raise r.fail("joints", f"has duplicate {what}: {v!r} is used by joints "
                                   f"{', '.join(clash)}; give each joint its own {what}")
    n_act = sum(j.actuated for j in joints)
    if n_act == 0:
        raise r.fail("joints", "must have at least one actuated joint")
    return joints


def _observation(orr: FieldReader, origin: str, imu: bool, task: TaskSpec) -> ObservationSpec:
    """The `observation` section: its terms (each once, each with what it reads) and history."""
    history = orr.integer("history", 1, minimum=1)
    terms = []
    for i, t in enumerate(orr.seq("terms")):
        tr_ = FieldReader(t, f"observation.terms[{i}]", origin)
        term = ObsTerm(name=tr_.text("name", choices=OBS_TERMS),
                       scale=tr_.num("scale", 1.0), noise=tr_.num("noise", 0.0, nonneg=True))
        tr_.done()
        if term.name in ("base_ang_vel", "projected_gravity") and not imu:
            raise tr_.fail("name", f"'{term.name}' needs imu: true")
        if term.name == "command" and not task.command:
            raise tr_.fail("name", "'command' needs task.command to name its components")
        terms.append(term)
    if not terms:
        raise orr.fail("terms", "must list at least one term")
    if len({t.name for t in terms}) != len(terms):
        raise orr.fail("terms", "lists a term twice")
    orr.done()
    return ObservationSpec(terms=tuple(terms), history=history)


def spec_from_dict(data: Any, origin: str = "spec", source_dir: str = "") -> RobotSpec:
    """Validate a plain mapping and build a RobotSpec. `origin` names it in errors."""
    r = FieldReader(data, "", origin)
    name = r.text("name")
    urdf = r.text("urdf")
    base = r.text("base", "fixed", choices=("fixed", "floating"))
    bx, by, bz = _floats(r, "base_position", 3, [0.0, 0.0, 0.0])
    base_position = (bx, by, bz)
    imu = r.flag("imu", False)

    rates = _rates(r.child("rates"))

    joints = _joints(r, origin)
    n_act = sum(j.actuated for j in joints)

    tr = r.child("task")
    task = TaskSpec(name=tr.text("name"), episode_steps=tr.integer("episode_steps", minimum=1),
                    command=tuple(str(c) for c in tr.seq("command", [])),
                    params=dict(tr.child("params", {}).data))
    tr.used.add("params")
    tr.done()

    observation = _observation(r.child("observation"), origin, imu, task)

    ar = r.child("action")
    mode = ar.text("mode", choices=ACTION_MODES)
    raw_scale = ar.get("scale")
    if isinstance(raw_scale, (int, float)) and not isinstance(raw_scale, bool):
        scale = (float(raw_scale),) * n_act
    else:
        scale = _floats(ar, "scale", n_act)
    if any(s <= 0 for s in scale):
        raise ar.fail("scale", f"must be > 0, got {list(scale)}")
    action = ActionSpec(mode=mode, scale=scale, clip=ar.num("clip", 1.0, positive=True))
    ar.done()
    if mode == "position":
        for j in joints:
            if j.actuated and j.kp <= 0:
                raise SpecError(f"{origin}: joint '{j.name}' needs kp > 0 for action mode "
                                "'position'")

    bus = read_bus(r.child("bus"), joints) if "bus" in r.data else None

    rand = r.get("randomization", {}) or {}
    if not isinstance(rand, dict):
        raise r.fail("randomization", "must be a mapping")
    r.done()
    return RobotSpec(name=name, urdf=urdf, base=base, base_position=base_position, imu=imu,
                     rates=rates, joints=joints,
                     observation=observation,
                     action=action, task=task, bus=bus, randomization=dict(rand),
                     source_dir=source_dir)


def list_builtin_robots() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def load_spec(name_or_path: str | Path) -> RobotSpec:
    """Load a built-in robot by name, or a spec YAML file by path.

    One rule for every command (issue 25 item 4): a path to a file is that file; otherwise
    a built-in name is the built-in robot, even when a directory of that name exists (a
    run directory `--out arm` must not hide the arm); a directory is never a spec."""
    text = str(name_or_path)
    path = Path(text)
    builtins = list_builtin_robots()
    if not path.is_file():
        if text in builtins:
            path = BUILTIN_DIR / f"{text}.yaml"
        elif path.is_dir():
            raise SpecError(f"{text!r} is a directory, not a robot spec: give a built-in robot "
                            f"({', '.join(builtins)}) or the path to a spec YAML file.")
        elif not path.suffix and len(path.parts) == 1:
            raise SpecError(f"unknown robot {text!r}. Built-in robots: {', '.join(builtins)}; "
                            "or pass a path to a spec YAML file (see docs/robot_spec.md).")
        else:
            raise SpecError(f"robot spec file {text!r} does not exist. Built-in robots: "
                            f"{', '.join(builtins)}.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
            "not a text file"
        raise SpecError(f"{path}: cannot be read as a robot spec ({reason}); give a spec "
                        "YAML file (see docs/robot_spec.md).") from None
    return spec_from_dict(data, origin=str(path), source_dir=str(path.resolve().parent))
