"""`RunConfig`: every option of `robot-ppo run` (each docstring is its --help text)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from robot_ppo.errors import UserError
from robot_ppo.spec import RobotSpec


@dataclass(frozen=True)
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
    ramp_s: float = 2.0
    """Seconds to interpolate from the measured pose to the default pose (position mode)."""
    standby_s: float = 0.3
    """Seconds in standby (torque off) reading states and timing the link before enabling."""
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
    """Serial line rate for real UARTs (ignored by ptys and sockets)."""
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
    """Stop into damping when the IMU shows a fall: |roll| or |pitch| past the task's
    max_roll/max_pitch, the rule that ends a simulated episode (floating-base robots only)."""
    quiet: bool = False
    """Print only the final statistics."""
    command: str = ""
    """Task command the policy follows, as NAME=VALUE pairs named in the spec's task.command
    (e.g. vx=0.5 for the quadruped); unnamed components are 0."""


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
