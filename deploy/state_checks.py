"""What the runtime checks on every measured state, before enabling and every cycle.

    start_problem   '' when the robot may be enabled from this state: inside the task's
                    start envelope (robot_ppo/termination.py) with every joint within its
                    limits; else why not
    stop_reason     '' while the run may go on; else why it must stop: the task's
                    termination (the rule that ends a simulated episode) or a joint beyond
                    its limits

A measured joint counts as beyond its limits past `margin` (rad or m) outside the spec's
position limits: a PD-held joint at its limit reads a little past it. `fall_guard` off drops
the task's rule and envelope, never the joint limits.
"""

from __future__ import annotations

from robot_ppo.spec import RobotSpec
from robot_ppo.state import RobotState
from robot_ppo.termination import Termination


class StateChecks:
    """The spec's termination rule and joint limits, built once for a run."""

    def __init__(self, spec: RobotSpec, margin: float, fall_guard: bool = True) -> None:
        self.spec, self.margin = spec, margin
        term = Termination.of(spec)
        self.termination = term if fall_guard and term.active else None
        self.q_low = [j.position_limits[0] - margin for j in spec.joints]
        self.q_high = [j.position_limits[1] + margin for j in spec.joints]

    def joint_beyond_limits(self, state: RobotState) -> str:
        """'' while every measured joint is within its limits (± margin)."""
        lo, hi = self.q_low, self.q_high
        for i, v in enumerate(state.q.tolist()):
            if not lo[i] <= v <= hi[i]:
                j = self.spec.joints[i]
                return (f"joint {j.name} at {v:+.3f} beyond its limits "
                        f"[{j.position_limits[0]:g}, {j.position_limits[1]:g}] "
                        f"(margin {self.margin:g})")
        return ""

    def start_problem(self, state: RobotState) -> str:
        """'' when the robot may be enabled from `state`, else why not."""
        why = self.termination.outside_start(state) if self.termination is not None else ""
        return why or self.joint_beyond_limits(state)

    def stop_reason(self, state: RobotState) -> tuple[str, str]:
        """('', '') while the run may go on, else (what tripped, the stop reason)."""
        term = self.termination
        if term is not None and term.terminated(state):
            return "task termination", f"task termination ({term.task}): {term.reason(state)}"
        beyond = self.joint_beyond_limits(state)
        if beyond:
            return "joint limit", f"joint limit: {beyond}"
        return "", ""
