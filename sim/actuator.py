"""The ONE actuator model: what the motor controller does with a joint command, per physics step.

Both the gymnasium env and the virtual controller (`sim.plant`) call `actuator_torque`, so a
policy driven over serial sees the same torques as in training.

    PD:       tau = clip(kp·s_p·(q* − q) + kd·s_d·(q̇* − q̇) + tau_ff, ±effort·strength)
    DAMPING:  tau = clip(−kd·s_d·q̇, ±effort·strength)       (the device's safe state)
    OFF:      tau = 0
with s_p, s_d the Kp/Kd randomization scales and `strength` the motor-strength factor.

`joint_friction_torque` is the robot's own passive friction (not the controller): viscous
damping plus Coulomb friction smoothed by tanh so that an explicit integrator does not chatter
around q̇ = 0.
"""

from __future__ import annotations

import numpy as np

from robot_ppo.action import MODE_DAMPING, MODE_PD

COULOMB_SMOOTHING = 0.01
"""rad/s (m/s): below this speed Coulomb friction ramps linearly (tanh) instead of a step."""


def actuator_torque(mode: np.ndarray, q_cmd: np.ndarray, qd_cmd: np.ndarray, tau_ff: np.ndarray,
                    kp: np.ndarray, kd: np.ndarray, q: np.ndarray, qd: np.ndarray,
                    effort_limit: np.ndarray, strength: float = 1.0, kp_scale: float = 1.0,
                    kd_scale: float = 1.0) -> np.ndarray:
    """Motor torque per joint (bus order) for one physics step; see module doc."""
    kd_eff = kd * kd_scale
    pd = kp * kp_scale * (q_cmd - q) + kd_eff * (qd_cmd - qd) + tau_ff
    tau = np.where(mode == MODE_PD, pd, np.where(mode == MODE_DAMPING, -kd_eff * qd, 0.0))
    lim = effort_limit * strength
    return np.clip(tau, -lim, lim)


def joint_friction_torque(qd: np.ndarray, damping: float, coulomb: float) -> np.ndarray:
    """Passive joint torque: −b·q̇ − f_c·tanh(q̇ / ε)."""
    if damping == 0.0 and coulomb == 0.0:
        return np.zeros_like(qd)
    return -damping * qd - coulomb * np.tanh(qd / COULOMB_SMOOTHING)
