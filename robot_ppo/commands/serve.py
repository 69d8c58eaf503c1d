"""`robot-ppo serve`: the virtual motor controller — a simulated robot behind a serial port.

Composes `sim.plant.PyBulletPlant` (the robot, same physics as training) with the
firmware_bridge device logic and server. The FIRST line on stdout is the port to connect
to (a /dev/pts path or socket://127.0.0.1:PORT); it then serves until Ctrl-C, SIGTERM or
--duration.

The simulated robot holds its initial state (the plant is not stepped) until the first
ENABLE, as a real robot stands still with its motors off; from then on it moves as physics
says, also after the host disables it (a second run finds the robot where the first left
it). --no-hold lets it move (the pole fall, the quadruped settle) from the start.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any, Literal

from robot_ppo.cli_config import config_dataclass, parse_config
from robot_ppo.errors import UserError


@config_dataclass
class ServeConfig:
    robot: str = "cartpole"
    """Robot to simulate: a built-in name or a spec YAML file."""
    port: str = "pty"
    """Where to listen: pty (a pseudo-terminal) or socket://127.0.0.1:PORT (0 = any free port)."""
    dynamics: str = "nominal"
    """Dynamics set of the simulated robot: nominal | randomized | shifted | a YAML file."""
    seed: int = 0
    """Seed of the initial state and dynamics draw (the plant starts as env.reset(seed=SEED))."""
    latency_ms: float = 0.0
    """Extra link latency added to every reply, ms."""
    lockstep: bool = False
    """Advance the simulation one control period per received command (deterministic) instead
    of in real time."""
    duration: float | None = None
    """Stop after this many seconds (default: run until Ctrl-C or SIGTERM)."""
    hold: bool = True
    """Hold the simulated robot at its initial state until the first ENABLE (motors off, a
    real robot stands still); false = physics runs from the start."""
    reset_after_disable: bool = False
    """Stand in for the operator who sets the robot up between runs: after each disable (the
    end of a run, a safe stop) the robot restarts from a fresh initial state (seeds SEED+1,
    SEED+2, ...) and is held there until the next ENABLE. For many runs on one serve
    (`robot-ppo adapt`)."""
    watchdog_ms: float = 100.0
    """Device watchdog: go to the safe state when commands stop for this long (0 = off)."""
    safe_mode: Literal["damping", "off"] = "damping"
    """Safe state of the motors: damping (tau = -kd_safe qd) or off (no torque)."""
    kd_safe: float = 1.0
    """Damping gain of the safe state, N·m·s/rad."""
    drop_rate: float = 0.0
    """Fault injection: probability that each reply byte is lost."""
    corrupt_rate: float = 0.0
    """Fault injection: probability that each reply byte is corrupted."""
    delay_ms: float = 0.0
    """Fault injection: extra delay of affected replies, ms."""
    stall_after: int | None = None
    """Fault injection: stop answering after this many replies."""
    disconnect_after: int | None = None
    """Fault injection: close the port after this many replies."""
    protocol: Literal["", "robot_ppo", "dynamixel", "feetech"] = ""
    """Protocol spoken on the port: robot_ppo (this project's controller), dynamixel
    (Protocol 2.0 servos), feetech (STS/SCS servos); empty = the spec's bus.protocol."""
    servo_fault_after: float | None = None
    """Servo protocols: latch an overload hardware error on the first motor's servo after
    this many seconds with torque on (tests the host's safe stop)."""
    device: Literal["python", "c"] = "python"
    """Device logic behind the port: python (firmware_bridge/device.py) or c (the C firmware
    core of firmware_bridge/firmware/, built with cmake and a C compiler on first use)."""


DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""


def main(argv: list[str]) -> int:
    cfg = parse_config(ServeConfig, argv, "robot-ppo serve", DESCRIPTION)

    from deploy.link import bus_protocol
    from firmware_bridge import Device, DeviceServer, FaultConfig
    from firmware_bridge.transports import open_transport
    from robot_ppo.spec import load_spec
    from sim.plant import PyBulletPlant, device_config

    spec = load_spec(cfg.robot)
    plant = PyBulletPlant(spec, cfg.dynamics, seed=cfg.seed)
    config = device_config(spec, watchdog_ms=cfg.watchdog_ms, safe_mode=cfg.safe_mode,
                           kd_safe=cfg.kd_safe, firmware_id=f"virtual-{spec.name}")
    faults = FaultConfig(drop_rate=cfg.drop_rate, corrupt_rate=cfg.corrupt_rate,
                         delay_ms=cfg.delay_ms, stall_after=cfg.stall_after,
                         disconnect_after=cfg.disconnect_after, seed=cfg.seed)
    try:
        transport = open_transport(cfg.port)
    except (ValueError, OSError) as exc:
        raise UserError(f"cannot open port {cfg.port!r}: {exc}") from None
    server_kw = dict(mode="lockstep" if cfg.lockstep else "realtime", faults=faults,
                     latency_ms=cfg.latency_ms, hold_until_enable=cfg.hold,
                     reset_after_disable=_resetter(plant) if cfg.reset_after_disable else None)
    protocol = bus_protocol(spec, cfg.protocol)
    if protocol != "robot_ppo":
        server = _servo_server(spec, protocol, plant, transport, cfg, server_kw)
    elif cfg.device == "c":
        from firmware_bridge.c_device import FirmwareBuildError, c_device_server

        try:
            server = c_device_server(config, plant, transport, **server_kw)
        except FirmwareBuildError as exc:
            transport.close()
            plant.close()
            raise UserError(f"{exc}. Or serve with --device python.") from None
    else:
        server = DeviceServer(Device(config, plant), transport, **server_kw)  # type: ignore[arg-type]

    def _stop(signum: int, frame: FrameType | None) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, _stop)
    print(server.url, flush=True)
    n_act = spec.act_dim
    sensed = spec.n_joints - n_act
    joints = f"{n_act} motor{'s' * (n_act != 1)}" + (
        f" + {sensed} sensed-only joint{'s' * (sensed != 1)}" if sensed else "")
    print(f"robot-ppo serve: {spec.name} ({joints}, "
          f"{spec.rates.control_hz:g} Hz, dynamics {cfg.dynamics}, "
          f"{'lockstep' if cfg.lockstep else 'realtime'}, "
          f"{cfg.device + ' device' if protocol == 'robot_ppo' else protocol + ' servos'}) "
          f"on {server.url}",
          file=sys.stderr,
          flush=True)
    try:
        server.serve(cfg.duration)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        plant.close()
    print(f"robot-ppo serve: stopped after {server.stats.plant_steps} control periods",
          file=sys.stderr)
    return 0


def _resetter(plant: Any) -> Any:
    """plant.reset with the next seed at each call (a new episode, as env.reset(seed+k))."""
    def reset() -> None:
        plant.reset(plant.seed + 1)
    return reset


def _servo_server(spec: Any, protocol: str, plant: Any, transport: Any, cfg: ServeConfig,
                  server_kw: dict[str, Any]) -> Any:
    """A DeviceServer around the vendor's servo-chain emulator (same setup as the host's)."""
    from deploy.link import servo_setup
    from firmware_bridge import DeviceServer
    from firmware_bridge.servo.models import chain_class

    try:
        setup = servo_setup(spec, protocol)
        chain = chain_class(protocol)(plant, setup.ids, setup.models, setup.calibration,
                                      setup.actuated)
    except (UserError, ValueError) as exc:
        transport.close()
        plant.close()
        raise UserError(str(exc)) from None
    if cfg.servo_fault_after is not None:
        first = setup.actuated.index(True)
        steps = max(1, round(cfg.servo_fault_after / plant.control_period_s))
        chain.fault_after_steps = (steps, setup.ids[first], 5)  # bit 5: overload
    return DeviceServer(chain, transport, **server_kw)
