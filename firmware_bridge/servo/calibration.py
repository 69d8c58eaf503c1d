"""Unit conversion at the bus boundary: servo ticks <-> joint radians (or metres), rad/s, N·m.

Contract: the only place servo units exist. Everything above the servo bus sees SI joint
units; everything below sees register ticks. Per servo i (vectorised over the chain):

    servo angle  a = (ticks - center) * 2π / ticks_per_turn        (center = mid position range)
    joint q        = direction * (a - zero_offset) / gear_ratio
    joint qd       = direction * ticks_v * velocity_unit / gear_ratio
    joint effort   = direction * gear_ratio * torque_constant * ticks_i * current_unit

so ``zero_offset`` 0 puts the joint's zero at the middle of the servo's range. A model
without a torque constant reports effort in amps (torque_constant taken as 1); one without
current sensing reports load as a fraction of stall torque times the stall torque.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from firmware_bridge.servo.tables import ServoModel

__all__ = ["Calibration"]

F64 = NDArray[np.float64]


@dataclass
class Calibration:
    """Per-servo conversion factors (arrays of the chain's length)."""

    rad_per_tick: F64
    center: F64
    zero_offset: F64
    direction: F64
    gear_ratio: F64
    velocity_unit: F64
    effort_per_tick: F64
    """Joint effort (N·m, N, or A) per tick of present/goal current (or load)."""

    @classmethod
    def build(cls, models: Sequence[ServoModel], zero_offset: Sequence[float],
              direction: Sequence[float], gear_ratio: Sequence[float]) -> Calibration:
        def arr(xs: Sequence[float]) -> F64:
            return np.asarray(xs, dtype=np.float64)

        effort = []
        for m in models:
            if m.current_unit is not None:
                effort.append(m.current_unit * (m.torque_constant or 1.0))
            else:
                effort.append(m.load_unit * m.stall_torque)
        return cls(
            rad_per_tick=arr([2 * math.pi / m.ticks_per_turn for m in models]),
            center=arr([(m.position_range[0] + m.position_range[1] + 1) / 2 for m in models]),
            zero_offset=arr(zero_offset), direction=arr(direction), gear_ratio=arr(gear_ratio),
            velocity_unit=arr([m.velocity_unit for m in models]),
            effort_per_tick=arr(effort),
        )

    # --- positions -------------------------------------------------------------------------
    def q_from_ticks(self, ticks: NDArray[np.integer] | F64) -> F64:
        a = (np.asarray(ticks, dtype=np.float64) - self.center) * self.rad_per_tick
        return self.direction * (a - self.zero_offset) / self.gear_ratio

    def ticks_from_q(self, q: F64) -> NDArray[np.int64]:
        a = self.direction * np.asarray(q, dtype=np.float64) * self.gear_ratio + self.zero_offset
        return np.rint(a / self.rad_per_tick + self.center).astype(np.int64)

    # --- velocities ------------------------------------------------------------------------
    def qd_from_ticks(self, ticks: NDArray[np.integer] | F64) -> F64:
        v = np.asarray(ticks, dtype=np.float64) * self.velocity_unit
        return self.direction * v / self.gear_ratio

    def ticks_from_qd(self, qd: F64) -> NDArray[np.int64]:
        v = self.direction * np.asarray(qd, dtype=np.float64) * self.gear_ratio
        return np.rint(v / self.velocity_unit).astype(np.int64)

    # --- efforts ---------------------------------------------------------------------------
    def tau_from_ticks(self, ticks: NDArray[np.integer] | F64) -> F64:
        i = np.asarray(ticks, dtype=np.float64)
        return self.direction * self.gear_ratio * i * self.effort_per_tick

    def ticks_from_tau(self, tau: F64) -> NDArray[np.int64]:
        i = self.direction * np.asarray(tau, dtype=np.float64) / self.gear_ratio
        return np.rint(i / self.effort_per_tick).astype(np.int64)

    def gain_to_servo(self, joint_gain: F64, power: int) -> F64:
        """A joint gain (N·m/rad, power 2: torque and angle both scale by the gear) to the
        servo shaft; power 2 for kp and kd alike (tau_j = g·tau_s, q_j = q_s / g)."""
        return np.asarray(joint_gain, dtype=np.float64) / self.gear_ratio**power

    def range_problems(self, lo: F64, hi: F64, tick_range: Sequence[tuple[int, int]]
                       ) -> list[tuple[int, float, int]]:
        """(servo index, joint limit, its tick) for each joint limit outside the servo's
        tick range: such a calibration would command the servo past its end stops."""
        out = []
        for limit in (lo, hi):
            ticks = self.ticks_from_q(np.asarray(limit, dtype=np.float64))
            for i, (t, (tmin, tmax)) in enumerate(zip(ticks, tick_range, strict=True)):
                if not tmin <= int(t) <= tmax:
                    out.append((i, float(np.asarray(limit)[i]), int(t)))
        return out
