"""The task's termination rule on a `RobotState`: one code path for simulation and robot.

The simulator ends an episode with it (`sim/tasks/balance.py`, `sim/tasks/walk.py`) and the
runtime stops the robot with it (deploy/runtime.py), so a policy is never driven on a
robot past the point where its training episodes ended.

    balance  |q_pole| > max_pole_angle (0.2 rad)  or  |q_cart| > max_cart_position (2.4 m)
    walk     |roll| > max_roll  or  |pitch| > max_pitch   (robot_ppo/posture.py, 0.8 rad)
             (the walk task's base-height rule needs the base position, which no sensor
             measures: it stays in the simulator)
    reach    never (a fixed arm cannot leave its task)

The start envelope is the set of states in which the task has not terminated: every state
a training episode visits lies in it, and outside it the policy was never trained. The
runtime enables the motors only once the measured state is inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_ppo.posture import TiltLimits
from robot_ppo.spec import RobotSpec, SpecError
from robot_ppo.state import RobotState

DEFAULT_MAX_POLE_ANGLE = 0.2
"""rad; the balance task's pole bound (Barto, Sutton and Anderson's cart-pole uses 12°)."""
DEFAULT_MAX_CART_POSITION = 2.4
"""m; the balance task's cart bound (the cart-pole rail's half length)."""


def balance_joints(spec: RobotSpec) -> tuple[int, int]:
    """(cart, pole) joint indices of a balance task: `task.params` cart_joint / pole_joint
    (names) or, by default, the first actuated joint and the first sensed-only joint."""
    names = [j.name for j in spec.joints]
    p = spec.task.params
    try:
        cart = names.index(p["cart_joint"]) if "cart_joint" in p else \
            next(i for i, j in enumerate(spec.joints) if j.actuated)
        pole = names.index(p["pole_joint"]) if "pole_joint" in p else \
            next(i for i, j in enumerate(spec.joints) if not j.actuated)
    except (StopIteration, ValueError):
        raise SpecError(f"{spec.name}: task 'balance' needs an actuated cart joint and a "
                        "sensed-only pole joint (or task.params cart_joint/pole_joint naming "
                        f"joints among {names})") from None
    return cart, pole


@dataclass(frozen=True)
class JointBound:
    """|q[index]| > limit ends the task; `what` and `unit` name it in messages."""

    index: int
    limit: float
    what: str
    unit: str


_CACHE: dict[int, tuple[RobotSpec, Termination]] = {}
_CACHE_SIZE = 64


class Termination:
    """A spec's termination rule (module doc). `terminated` is the cheap test the
    simulator calls every step; `reason` says what ended it, for a stop report."""

    @classmethod
    def of(cls, spec: RobotSpec) -> Termination:
        """The rule of `spec`, built once per spec object (the tasks' pure reward functions
        call this every step; building it costs more than the test itself)."""
        hit = _CACHE.get(id(spec))
        if hit is not None and hit[0] is spec:  # the spec is held, so its id is not reused
            return hit[1]
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        rule = cls(spec)
        _CACHE[id(spec)] = (spec, rule)
        return rule

    def __init__(self, spec: RobotSpec) -> None:
        self.task = spec.task.name
        bounds: list[JointBound] = []
        if self.task == "balance":
            p = spec.task.params
            cart, pole = balance_joints(spec)
            bounds = [JointBound(pole, float(p.get("max_pole_angle", DEFAULT_MAX_POLE_ANGLE)),
                                 "pole angle", "rad"),
                      JointBound(cart, float(p.get("max_cart_position",
                                                   DEFAULT_MAX_CART_POSITION)),
                                 "cart position", "m")]
        self.bounds = tuple(bounds)
        self.tilt = TiltLimits.of(spec) if self.task == "walk" else None

    @property
    def active(self) -> bool:
        """False for a task that never terminates on the measured state (reach)."""
        return bool(self.bounds) or self.tilt is not None

    def terminated(self, state: RobotState) -> bool:
        q = state.q
        for b in self.bounds:
            if abs(q[b.index]) > b.limit:
                return True
        if self.tilt is not None and state.base_quat is not None:
            return bool(self.tilt.exceeded(state.base_quat))
        return False

    def reason(self, state: RobotState) -> str:
        """'' while the task goes on, else what ended it ("pole angle +2.100 rad beyond
        ±0.2 rad", "roll +0.71 rad beyond ±0.6")."""
        q = state.q
        for b in self.bounds:
            v = float(q[b.index])
            if not abs(v) <= b.limit:  # NaN ends it too
                return f"{b.what} {v:+.3f} {b.unit} beyond ±{b.limit:g} {b.unit}"
        if self.tilt is not None and state.base_quat is not None:
            return self.tilt.exceeded(np.asarray(state.base_quat))
        return ""

    def outside_start(self, state: RobotState) -> str:
        """'' inside the start envelope, else why not ("pole angle +2.100 rad outside the
        task's start envelope ±0.2 rad")."""
        q = state.q
        for b in self.bounds:
            v = float(q[b.index])
            if not abs(v) <= b.limit:
                return (f"{b.what} {v:+.3f} {b.unit} outside the task's start envelope "
                        f"±{b.limit:g} {b.unit}")
        if self.tilt is not None and state.base_quat is not None:
            why = self.tilt.exceeded(np.asarray(state.base_quat))
            if why:
                return why.replace("beyond", "outside the task's start envelope")
        return ""
