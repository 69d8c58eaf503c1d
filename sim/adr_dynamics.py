"""ADR for the robot envs: which parameters, their initial ranges and limits, and the
dynamics process that samples an episode from the current ADR ranges.

`--dynamics adr` (`resolve_dynamics(spec, "adr")`) is the `randomized` set (drift, events,
pushes, observation noise) whose ranges are drawn from an `AutomaticDomainRandomization`
instead of the fixed training ranges. Per parameter with a non-zero training range
[a, b] (width w = b − a, nominal n):

    initial range   [a, b]  (the plain-DR training range; INITIAL_FRACTION = None)
                    or n ± INITIAL_FRACTION·w clipped into [a, b] (a band around nominal)
    hard limits     [a − w, b + w], never below a/2 when a > 0 (and never below 0 when a = 0)
    step            0.25·w

so ADR can grow one training width past plain DR on each side (the `shifted` set lies
within 0.5·w beyond the range). Starting at the DR range (not at a narrow band as in
OpenAI 2019) is deliberate: a cartpole run has only a few hundred episodes, and starting
from a band around nominal spent them all re-growing what plain DR already covers
(docs/robustness.md); since ADR never narrows inside its initial range, ADR ⊇ plain DR.
Parameters that cannot matter for the robot are left at their randomized range: gyro
biases without an IMU, Kp/Kd scales in torque mode.

One ADR instance per process and training (`SharedAdr`, which the training's env source
owns; envs built without one share `PROCESS_ADR`): the envs stepped in one process share
it, so all their episodes fill the same boundary queues. With the default in-process stepping
(vec_env: W = 0 on machines with < 4 cores) that is one ADR for all N envs; with W worker
processes there are W independent ADRs, each seeing 1/W of the episodes, so each adapts W×
slower and their ranges may differ. That is the price of keeping ADR state off the per-step
IPC path (no synchronisation between processes).

Checkpoints (`adr_state` / `restore_adr_state`, the env's `get_train_state()` /
`set_train_state()`, checkpoint key `env_state`): a process's ADR ranges, boundary queues,
reference episodes and curriculum are saved as one plain dict, `{"ranges": {name: [lo,
hi]}, "queues": {name: {"lo": [...], "hi": [...]}}, "reference": [...], "curriculum":
{"level": float, "results": [...]}}`. The trainer
saves its own process's state (with W workers: the ADR of the envs it steps itself, slice 0;
the workers' ADRs are not saved) and, on --resume, every process (the trainer's and each
worker) loads that one state into its shared ADR as it builds its envs (`RobotEnv(...,
train_state=...)`, before any training step), so all of them continue from the saved ranges
and curriculum level.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec
from sim.adr import AdrConfig, AdrParam, AdrSides, AutomaticDomainRandomization
from sim.curriculum import Curriculum, CurriculumConfig
from sim.dynamics import DynamicsProcess, DynamicsSet
from sim.randomization import PARAM_NAMES, PARAMS, parse_randomization

INITIAL_FRACTION: float | None = None
"""Half-width of the initial band around nominal, as a fraction of the training width;
None: start at the full training range."""
LIMIT_FRACTION = 1.0
"""How far past the training range the hard limits lie, in training widths."""
STEP_FRACTION = 0.25
"""Boundary step, in training widths."""

DEFAULT_CONFIG = AdrConfig(queue_size=3, high_threshold=0.8, low_threshold=0.4,
                           boundary_prob=0.5)
"""Small queues: a 150k-step cartpole run has only ~500 episodes for ~20 boundaries."""


def adr_config(high_threshold: float, low_threshold: float, sides: AdrSides = "both",
               relative: bool = False, fixed: tuple[str, ...] = ()) -> AdrConfig:
    """DEFAULT_CONFIG with the options of `robot-ppo train` (--adr-high, --adr-low,
    --adr-sides, --adr-relative, --adr-fixed)."""
    return replace(DEFAULT_CONFIG, high_threshold=high_threshold, low_threshold=low_threshold,
                   sides=sides, relative=relative, fixed=tuple(fixed))


def relevant(spec: RobotSpec, name: str) -> bool:
    """Whether randomizing `name` can change what this robot does or senses."""
    if name.startswith("gyro_bias") and not spec.imu:
        return False
    return not (name in ("kp_scale", "kd_scale") and spec.action.mode == "torque")


def harder(name: str) -> int:
    """The side of `name` that is harder for a robot, for `--adr-sides hard`: PARAMS' own,
    except biases and slopes, whose ranges sit symmetric about 0 and are hard at either end
    (PARAMS gives them +1 only to place the `shifted` band on one side)."""
    return 0 if name.startswith(("gyro_bias", "gravity_tilt")) else PARAMS[name].harder


def adr_params(spec: RobotSpec) -> list[AdrParam]:
    """ADR parameters for the robot's training-randomized, relevant parameters."""
    ranges = parse_randomization(spec.randomization).ranges
    out = []
    for name in PARAM_NAMES:
        a, b = ranges[name]
        w = b - a
        if w <= 0 or not relevant(spec, name):
            continue
        n = min(max(PARAMS[name].nominal, a), b)
        if INITIAL_FRACTION is None:
            initial = (a, b)
        else:
            initial = (max(n - INITIAL_FRACTION * w, a), min(n + INITIAL_FRACTION * w, b))
        lo_limit = a - LIMIT_FRACTION * w
        if a > 0:
            # a strictly positive quantity (a mass or inertia scale, a friction) must stay
            # physical: never below half its training minimum, so never 0
            lo_limit = max(lo_limit, 0.5 * a)
        elif a == 0:
            lo_limit = max(lo_limit, 0.0)
        out.append(AdrParam(name, initial, (lo_limit, b + LIMIT_FRACTION * w),
                            STEP_FRACTION * w, harder(name)))
    return out


def adr_dynamics_set(spec: RobotSpec, randomized: DynamicsSet) -> DynamicsSet:
    """The `randomized` set with ADR parameters widened to their hard limits (so latency
    rings are sized for the widest range ADR can reach)."""
    ranges = dict(randomized.ranges)
    for p in adr_params(spec):
        ranges[p.name] = p.limits
    return replace(randomized, name="adr", ranges=ranges)


class SharedAdr:
    """One training's ADR and disturbance curriculum per robot spec, shared by every env
    built with this object in one process (see the module doc).

    Each is created by the first env that asks, with that env's configs. A copy pickled
    into another process (a vec_env worker unpickles its factory once and builds all its
    envs from it) arrives empty, so that process's envs share an ADR of their own, as
    they do in one process. Two trainings in one process (a notebook, tests) hold two
    objects and so never share ranges.
    """

    def __init__(self) -> None:
        self._adr: dict[str, AutomaticDomainRandomization] = {}
        self._curricula: dict[str, Curriculum] = {}

    def adr(self, spec: RobotSpec, config: AdrConfig | None = None
            ) -> AutomaticDomainRandomization:
        """The ADR for `spec` (created on first use)."""
        if spec.spec_hash not in self._adr:
            self._adr[spec.spec_hash] = AutomaticDomainRandomization(
                adr_params(spec), config or DEFAULT_CONFIG)
        return self._adr[spec.spec_hash]

    def curriculum(self, spec: RobotSpec, config: CurriculumConfig | None = None
                   ) -> Curriculum:
        """The disturbance curriculum for `spec` (shared like the ADR)."""
        if spec.spec_hash not in self._curricula:
            self._curricula[spec.spec_hash] = Curriculum(config or CurriculumConfig())
        return self._curricula[spec.spec_hash]

    def __getstate__(self) -> dict[str, Any]:
        return {}  # another process starts its own (see the class doc)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._adr, self._curricula = {}, {}


PROCESS_ADR = SharedAdr()
"""What envs built without a `SharedAdr` of their own share: one per process (plain
`sim.make_env(spec, "adr")` / `gym.make(..., dynamics="adr")` users)."""


def adr_state(adr: AutomaticDomainRandomization, curriculum: Curriculum) -> dict[str, Any]:
    """The checkpoint form of one process's ADR and curriculum (see the module doc)."""
    return {**adr.state_dict(), "curriculum": curriculum.state_dict()}


def restore_adr_state(adr: AutomaticDomainRandomization, curriculum: Curriculum,
                      state: Any) -> list[str]:
    """Load an `adr_state()` into `adr` and `curriculum`; returns the parameter names the
    state holds that `adr` lacks (ignored). Ranges are clamped into each parameter's
    reachable band (AutomaticDomainRandomization.load_state_dict), the level into [0, 1].

    Raises UserError, changing nothing, when the state is malformed.
    """
    try:
        if not isinstance(state, dict) or "curriculum" not in state:
            raise ValueError("it must be a dict with 'ranges', 'queues' and 'curriculum'")
        trial = Curriculum(curriculum.config)
        trial.load_state_dict(state["curriculum"])  # validated before anything changes
        ignored = adr.load_state_dict(state)
    except ValueError as exc:
        raise UserError(f"malformed ADR state (checkpoint key 'env_state'): {exc}. Resume "
                        "from a checkpoint written by `robot-ppo train` (one without "
                        "env_state starts ADR from its initial ranges).") from None
    curriculum.load_state_dict(state["curriculum"])
    return ignored


def restore_notes(saved: Any, restored: dict[str, Any] | None) -> list[str]:
    """What resuming did with the ADR state, as log lines: `saved` is the checkpoint's
    (`env_state`, older ones `adr_state`), `restored` the `adr_state()` the envs hold right
    after they were built with it (None: the run does not use ADR)."""
    if restored is None:
        return [] if saved is None else [
            "the checkpoint's ADR state (env_state) is ignored: this run does not use "
            "--dynamics adr."]
    if saved is None:
        return ["the checkpoint holds no ADR state (env_state; an older checkpoint or a run "
                "without --dynamics adr): ADR ranges and the disturbance curriculum start "
                "from their initial values."]
    notes = []
    saved_ranges: dict[str, Any] = saved.get("ranges", {}) if isinstance(saved, dict) else {}
    now: dict[str, list[float]] = restored["ranges"]
    unknown = sorted(set(saved_ranges) - set(now))
    if unknown:
        notes.append("ADR parameters in the checkpoint that this robot does not randomize "
                     f"are ignored: {', '.join(unknown)}.")
    # load_state_dict clamped what lies outside a parameter's reachable band: say which
    clamped = [f"{name} {list(map(float, saved_ranges[name]))} -> {now[name]}"
               for name in now if name in saved_ranges
               and [float(x) for x in saved_ranges[name]] != now[name]]
    if clamped:
        notes.append("ADR ranges from the checkpoint clamped into the ranges ADR can reach: "
                     + "; ".join(clamped) + ".")
    return notes


class AdrProcess(DynamicsProcess):
    """A DynamicsProcess whose reset draws from the ADR's current ranges.

    ADR parameters: x ~ U(lo, hi) of the current ADR range, or one pinned at a boundary;
    drift and events then stay inside that current range. Others: as in the base set.
    """

    def __init__(self, dset: DynamicsSet, adr: AutomaticDomainRandomization):
        super().__init__(dset)
        self.adr = adr
        self.base_low, self.base_high = self.low.copy(), self.high.copy()
        self.pinned: tuple[str, str] | None = None

    def reset(self, rng: np.random.Generator) -> None:
        low, high = self.base_low.copy(), self.base_high.copy()
        for name, (lo, hi) in self.adr.ranges().items():
            low[self.index[name]], high[self.index[name]] = lo, hi
        self.low, self.high, self.width = low, high, high - low
        self.drift_mask = np.array([PARAMS[k].drifts for k in PARAM_NAMES]) & (self.width > 0)
        super().reset(rng)  # uniform draw for every parameter (keeps the stream layout)
        values, self.pinned = self.adr.sample(rng)
        for name, v in values.items():
            self.values[self.index[name]] = v

    def metrics(self) -> dict[str, float]:
        """Flat floats for info['episode_metrics']: entropy, every current range and, with
        relative thresholds, the reference performance."""
        out = {"adr/entropy": float(self.adr.entropy())}
        if self.adr.config.relative:
            out["adr/reference"] = float(self.adr.reference())
        for name, (lo, hi) in self.adr.ranges().items():
            out[f"adr/{name}_lo"] = float(lo)
            out[f"adr/{name}_hi"] = float(hi)
        return out
