"""`RunConfig`: every option of `robot-ppo run` (each docstring is its --help text), and
`validate`, which range-checks them all before the runtime opens anything."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import Literal

import numpy as np

from robot_ppo.cli_config import config_dataclass
from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec


@config_dataclass(frozen=True)
class RunConfig:
    policy: Path = Path("policy.onnx")
    """Exported policy (robot-ppo export)."""
    port: str = ""
    """Motor controller port: /dev/ttyACM0, /dev/pts/N, socket://127.0.0.1:PORT (required)."""
    robot: str = ""
    """Robot spec name or YAML path; empty = the spec stored in the policy file."""
    rate: float = 0.0
    """Control rate in Hz; 0 = the spec's control rate (what the policy was trained at)."""
    duration: float = 10.0
    """Seconds of policy control before the safe stop; 0 = until Ctrl-C / e-stop."""
    steps: int = 0
    """Control cycles of policy control before the safe stop; 0 = no limit. With --duration,
    whichever comes first; a lockstep simulator then logs the same episode length however
    loaded the machine is (a late cycle is skipped, not caught up)."""
    ramp_s: float = 2.0
    """Seconds to interpolate from the measured pose to the default pose (position mode)."""
    standby_s: float = 0.3
    """Seconds in standby (torque off) reading states and timing the link before enabling."""
    start_timeout_s: float = 5.0
    """Longest wait in standby (torque off) for the measured state to enter the task's start
    envelope (pole upright and cart on its rail, quadruped upright; docs/deploy.md) and for
    every joint to be within its limits; then the run is refused (0 = refuse at once)."""
    joint_limit_margin: float = 0.05
    """A measured joint position more than this (rad or m) beyond the spec's position limits
    is a fault: refused in standby, a safe stop while running."""
    damping_s: float = 0.5
    """Seconds of damping commands in the safe stop before torque is disabled."""
    log_dir: str = ""
    """Directory for rollout logs (robot_ppo.rollout_format); empty = no logging."""
    explore: float = 0.0
    """Exploration: sample a ~ N(mean, (std·explore)²) and log log-probs; 0 = the mean."""
    seed: int = 0
    """Seed of the exploration noise."""
    provider: Literal["auto", "cpu", "cuda", "tensorrt"] = "auto"
    """onnxruntime provider; auto tries TensorRT > CUDA > CPU and keeps the fastest."""
    trt_cache_dir: str = ""
    """TensorRT engine cache directory (default ~/.cache/robot_ppo/trt)."""
    stats_file: str = "loop_stats.json"
    """Where the loop statistics JSON is written on exit ('' = print only)."""
    estop_file: str = ""
    """E-stop file: creating it (touch PATH) stops the robot and latches the device e-stop."""
    baudrate: int = 1_000_000
    """Serial line rate for real UARTs (ignored by ptys and sockets); for a servo bus the
    spec's bus.baudrate is used unless this is set to another value."""
    protocol: Literal["", "robot_ppo", "dynamixel", "feetech"] = ""
    """Bus protocol: robot_ppo (this project's firmware), dynamixel (Protocol 2.0 servos),
    feetech (STS/SCS servos); empty = the spec's bus.protocol (robot_ppo without one)."""
    connect_timeout_s: float = 2.0
    """How long to wait for the controller to answer the handshake."""
    link_timeout_ms: float = 100.0
    """No valid state for this long = link lost = safe stop."""
    rate_margin: float = 0.8
    """Refuse a rate whose p99 round trip + p99 compute exceeds this fraction of the period."""
    nan_hold_cycles: int = 3
    """Non-finite policy outputs in a row that hold the last command before damping."""
    position_rate_limit: float | None = None
    """Max change of a position target per cycle (rad); none = velocity limit / rate."""
    torque_rate_limit: float | None = None
    """Max change of a torque command per cycle (N·m); none = the effort limit."""
    damping_kd: float = 1.0
    """Damping gain of the safe-stop command (N·m·s/rad)."""
    rt_priority: int = 50
    """SCHED_FIFO priority for the loop (0 = normal scheduling)."""
    cpu: int = -1
    """CPU to pin the loop to: -1 = the last allowed CPU, -2 = no pinning."""
    spin_us: float = 100.0
    """Busy-wait this long before each deadline instead of sleeping (sleep granularity)."""
    clear_latched: bool = False
    """Enable even if the controller reports an e-stop or fault latched before this run."""
    allow_spec_mismatch: bool = False
    """Run a policy whose spec hash differs from the robot's when the layouts match."""
    fall_guard: bool = True
    """Apply the task's termination rule, the one that ends a simulated episode
    (robot_ppo/termination.py): wait for the start envelope before enabling, and stop into
    damping when the pole falls or the cart leaves its bounds (balance) or the base tilts
    past max_roll/max_pitch (walk). Off: for a robot on a stand."""
    quiet: bool = False
    """Print only the final statistics."""
    command: str = ""
    """Task command the policy follows, as NAME=VALUE pairs named in the spec's task.command
    (e.g. vx=0.5 for the quadruped); unnamed components are 0."""


MAX_RATE_HZ = 10_000.0
"""Highest control rate accepted. Why: the shortest state exchange on the fastest UART this
runtime drives (1 Mbaud, ~30 bytes each way for one joint) takes ~600 µs, and a 100 µs
period is already below the OS timer and busy-wait resolution (--spin-us) of the loop."""


def _check(ok: bool, option: str, value: object, allowed: str) -> None:
    if not ok:
        raise UserError(f"--{option.replace('_', '-')} {value!r}: must be {allowed}.")


def validate(cfg: RunConfig) -> None:
    """Range-check every option (UserError naming the option and its allowed range).
    Called before the policy is loaded or any port opened."""
    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if isinstance(v, float):
            _check(math.isfinite(v), f.name, v, "a finite number")
    _check(bool(cfg.port), "port", cfg.port,
           "given: /dev/ttyACM0 (or /dev/pts/N, socket://HOST:PORT)")
    if not cfg.policy.is_file():
        what = "is a directory" if cfg.policy.is_dir() else "does not exist"
        raise UserError(f"--policy {str(cfg.policy)!r}: the policy file {what}; pass the "
                        ".onnx file written by `robot-ppo export`.")
    # the files written at the end of the run: a bad path found then would lose the report
    if cfg.stats_file:
        stats = Path(cfg.stats_file)
        _check(not stats.is_dir() and stats.parent.is_dir(), "stats_file", cfg.stats_file,
               "a file in an existing directory ('' = print only)")
    if cfg.log_dir:
        _check(Path(cfg.log_dir).is_dir() or not Path(cfg.log_dir).exists(), "log_dir",
               cfg.log_dir, "a directory (it is created if missing)")
    nonneg = ("duration", "steps", "ramp_s", "standby_s", "start_timeout_s", "damping_s", "explore",
              "joint_limit_margin", "damping_kd", "spin_us", "nan_hold_cycles", "seed")
    for name in nonneg:
        _check(getattr(cfg, name) >= 0, name, getattr(cfg, name), ">= 0")
    for name in ("connect_timeout_s", "link_timeout_ms", "rate_margin", "baudrate"):
        _check(getattr(cfg, name) > 0, name, getattr(cfg, name), "> 0")
    for name in ("position_rate_limit", "torque_rate_limit"):
        v = getattr(cfg, name)
        _check(v is None or v > 0, name, v, "> 0 (or none for the spec's limit)")
    _check(0 <= cfg.rt_priority <= 99, "rt_priority", cfg.rt_priority,
           "in 0..99 (0 = normal scheduling)")
    _check(cfg.cpu >= -2, "cpu", cfg.cpu, "a CPU number, -1 (the last allowed) or -2 (none)")
    _check(cfg.rate >= 0, "rate", cfg.rate, "> 0 Hz (or 0 for the spec's control rate)")
    if cfg.rate > 0:
        check_rate(cfg, cfg.rate)


def check_rate(cfg: RunConfig, rate: float) -> None:
    """A control rate the link timeout and the loop allow (the one rule for --rate and for
    the spec's rate): at least two periods per link timeout, so that one late reply is
    not already a lost link, and at most MAX_RATE_HZ."""
    lowest = 2000.0 / cfg.link_timeout_ms
    if rate < lowest:
        raise UserError(
            f"--rate {rate:g} Hz: the period ({1000.0 / rate:g} ms) must be at most half the "
            f"link timeout (--link-timeout-ms {cfg.link_timeout_ms:g}), so the rate must be "
            f">= {lowest:g} Hz; raise the rate or the link timeout.")
    if rate > MAX_RATE_HZ:
        raise UserError(
            f"--rate {rate:g} Hz: at most {MAX_RATE_HZ:g} Hz, since a 1 Mbaud serial "
            "exchange takes ~600 µs and the loop cannot time periods below ~100 µs.")


def parse_command(spec: RobotSpec, text: str) -> np.ndarray:
    """`--command vx=0.5,yaw_rate=0` -> the task command vector in spec order."""
    names = list(spec.task.command)
    command = np.zeros(len(names))
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in names:
            known = ", ".join(names) if names else "none: this robot's task takes no command"
            raise UserError(f"--command {item!r}: expected NAME=VALUE with NAME one of: {known}")
        try:
            command[names.index(name.strip())] = float(value)
        except ValueError:
            raise UserError(f"--command {item!r}: {value!r} is not a number") from None
    return command
