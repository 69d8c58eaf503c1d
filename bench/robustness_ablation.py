"""The ablation of bench/robustness.py: the shifted set's components, each evaluated alone
on the randomized set (`only_<c>`) and removed from the shifted set (`shifted_without_<c>`)."""

from __future__ import annotations

from pathlib import Path

import yaml

ABLATION: dict[str, tuple[str, ...]] = {
    "mass": ("mass_scale", "payload_kg"),
    "inertia": ("inertia_scale",),
    "friction": ("friction",),
    "motor_strength": ("motor_strength",),
    "gains": ("kp_scale", "kd_scale"),
    "joint_damping": ("joint_damping",),
    "joint_friction": ("joint_friction",),
    "latency": ("action_latency_s", "obs_latency_s"),
    "gyro_bias": ("gyro_bias_x", "gyro_bias_y", "gyro_bias_z"),
    "gravity_tilt_x": ("gravity_tilt_x",),
    "gravity_tilt_y": ("gravity_tilt_y",),
}
"""Shifted-set components evaluated one at a time (a component whose keys cannot affect
the robot is skipped: gains in torque mode, gyro bias without an IMU, a range the shifted set leaves
at its training value)."""


def ablation_components(robot: str) -> dict[str, tuple[str, ...]]:
    """ABLATION restricted to what can change this robot's behaviour."""
    from robot_ppo.spec import load_spec
    from sim.dynamics import resolve_dynamics

    spec = load_spec(robot)
    shifted = resolve_dynamics(spec, "shifted").ranges
    train = resolve_dynamics(spec, "randomized").ranges
    out = {}
    for comp, keys in ABLATION.items():
        keys = tuple(k for k in keys if k in shifted and tuple(shifted[k]) != tuple(train[k]))
        if comp == "gains" and spec.action.mode == "torque":
            continue
        if comp == "gyro_bias" and not spec.imu:
            continue
        if keys:
            out[comp] = keys
    return out


def ablation_files(robot: str, out: Path) -> dict[str, Path]:
    """`only_<c>`: the randomized set (drift on) with component c at its shifted range;
    `shifted_without_<c>`: the shifted set with c back at its training range."""
    from robot_ppo.spec import load_spec
    from sim.dynamics import resolve_dynamics

    spec = load_spec(robot)
    shifted = resolve_dynamics(spec, "shifted").ranges
    train = resolve_dynamics(spec, "randomized").ranges
    d = out / "ablation"
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    for comp, keys in ablation_components(robot).items():
        for tag, base, src in (("only", "randomized", shifted),
                               ("shifted_without", "shifted", train)):
            path = d / f"{tag}_{comp}.yaml"
            path.write_text(yaml.safe_dump(
                {"base": base, "ranges": {k: [float(x) for x in src[k]] for k in keys}}))
            files[f"{tag}_{comp}"] = path
    return files
