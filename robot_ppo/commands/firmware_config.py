"""`robot-ppo firmware-config --robot R -o robot_config.h`: the C firmware core's configuration.

Writes the static `fw_config` a motor controller built from firmware_bridge/firmware/ compiles
in: motor count, control period, per-joint limits (from the spec, the same ones
`robot-ppo serve` enforces), watchdog, safe state, and the spec hash its HELLO_REPLY announces,
so the runtime's handshake accepts the board only for the spec the policy was trained on.
Limits are in the core's wire units, rounded inward (docs/firmware.md).

  robot-ppo firmware-config --robot cartpole -o firmware/robot_config.h
  robot-ppo firmware-config --robot my_robot.yaml -o robot_config.h --watchdog-ms 50
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated, Literal

from robot_ppo.cli_config import Cli, config_dataclass, parse_config
from robot_ppo.errors import UserError


@config_dataclass(frozen=True)
class FirmwareConfigConfig:
    robot: str = "cartpole"
    """Robot spec: a built-in name or a spec YAML file."""
    output: Annotated[Path, Cli(short="-o")] = Path("robot_config.h")
    """Header to write (-o); replaced atomically."""
    watchdog_ms: float = 100.0
    """Firmware watchdog: safe state when COMMAND/HEARTBEAT stop for this long (0 = off)."""
    safe_mode: Literal["damping", "off"] = "damping"
    """Safe state of the motors: damping (tau = -kd_safe qd) or off (no torque)."""
    kd_safe: float = 1.0
    """Damping gain of the safe state, N·m·s/rad."""
    kp_max: float = math.inf
    """Largest position gain the firmware accepts, N·m/rad (inf = no limit)."""
    kd_max: float = math.inf
    """Largest velocity gain the firmware accepts, N·m·s/rad (inf = no limit)."""
    firmware_id: str = ""
    """Firmware name in HELLO_REPLY (ASCII, up to 64 bytes; default ROBOT-fw)."""


DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""


def main(argv: list[str]) -> int:
    cfg = parse_config(FirmwareConfigConfig, argv, "robot-ppo firmware-config", DESCRIPTION)
    if cfg.output.is_dir():
        raise UserError(f"-o {str(cfg.output)!r} is a directory; give the file to write, e.g. "
                        f"-o {str(cfg.output / 'robot_config.h')!r}.")
    if cfg.watchdog_ms < 0 or cfg.kd_safe < 0 or cfg.kp_max < 0 or cfg.kd_max < 0:
        raise UserError("--watchdog-ms, --kd-safe, --kp-max and --kd-max must be >= 0.")
    if not cfg.firmware_id.isascii() or len(cfg.firmware_id) > 64:
        raise UserError("--firmware-id must be ASCII, at most 64 characters.")

    from firmware_bridge.firmware_config import render_header, wire_config
    from robot_ppo.atomic_write import atomic_write
    from robot_ppo.spec import load_spec
    from sim.plant import device_config

    spec = load_spec(cfg.robot)
    # the limits `robot-ppo serve` enforces, through the same function
    config = device_config(spec, watchdog_ms=cfg.watchdog_ms, safe_mode=cfg.safe_mode,
                           kd_safe=cfg.kd_safe, firmware_id=cfg.firmware_id or f"{spec.name}-fw",
                           kp_max=cfg.kp_max, kd_max=cfg.kd_max)
    wc = wire_config(config, 1.0 / spec.rates.control_hz, has_imu=spec.imu)
    atomic_write(cfg.output, render_header(wc, f"robot {spec.name} (spec {spec.spec_hash[:16]})"))
    print(f"robot-ppo firmware-config: wrote {cfg.output} ({spec.name}, {spec.n_joints} joints, "
          f"spec hash {wc.spec_hash.hex()})", file=sys.stderr)
    return 0
