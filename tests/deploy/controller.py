"""An in-process virtual controller for deploy tests: the real firmware_bridge device logic
behind a real pty, driving the ideal numpy plant (no PyBullet)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from deploy.link import wire_spec_hash
from firmware_bridge import Device, DeviceConfig, DeviceServer, FaultConfig, IdealPlant
from firmware_bridge.framing import Frame
from firmware_bridge.layouts import MsgType
from firmware_bridge.messages import JointCommand
from firmware_bridge.transports import open_transport
from robot_ppo.spec import RobotSpec


class CountingDevice(Device):
    """The real device logic, counting the ENABLE requests it handled and keeping every
    command the host sent while enabled (before the device's own limits)."""

    enables = 0

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.host_commands: list[JointCommand] = []

    def limit(self, cmd: JointCommand) -> tuple[JointCommand, bool]:
        self.host_commands.append(cmd.copy())
        return super().limit(cmd)

    def handle(self, frame: Frame, now: float, step_on_command: bool = False) -> bytes:
        if frame.msg_type == MsgType.ENABLE:
            self.enables += 1
        return super().handle(frame, now, step_on_command)


class RecordingPlant(IdealPlant):
    """Keeps every command the plant was stepped with (what really reached the motors)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.commands: list[object] = []

    def step(self, cmd: object) -> None:  # type: ignore[override]
        self.commands.append(cmd.copy())  # type: ignore[attr-defined]
        super().step(cmd)  # type: ignore[arg-type]


@contextmanager
def virtual_controller(spec: RobotSpec, mode: str = "realtime", period_s: float | None = None,
                       faults: FaultConfig | None = None, watchdog_s: float = 0.5,
                       spec_hash: bytes | None = None,
                       device_cls: type[CountingDevice] | None = None) -> Iterator[DeviceServer]:
    n = spec.n_joints
    plant = RecordingPlant(n, control_period_s=period_s or 1.0 / spec.rates.control_hz,
                       inertia=1.0, damping=0.5, tau_max=max(j.effort_limit for j in spec.joints))
    cfg = DeviceConfig(
        motor_count=n,
        q_min=[j.position_limits[0] for j in spec.joints],
        q_max=[j.position_limits[1] for j in spec.joints],
        qd_max=[j.velocity_limit for j in spec.joints],
        tau_max=[j.effort_limit for j in spec.joints],
        watchdog_s=watchdog_s,
        spec_hash=wire_spec_hash(spec) if spec_hash is None else spec_hash,
    )
    server = DeviceServer((device_cls or CountingDevice)(cfg, plant), open_transport("pty"),
                          mode=mode, faults=faults)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.close()


@contextmanager
def pybullet_controller(robot: str, hold: bool, seed: int = 0,
                        mode: str = "realtime") -> Iterator[DeviceServer]:
    """What `robot-ppo serve` runs (PyBullet plant, device logic, pty), in this process so a
    test can read the plant and the device directly."""
    from robot_ppo.spec import load_spec
    from sim.plant import PyBulletPlant, device_limits

    spec = load_spec(robot)
    plant = PyBulletPlant(spec, "nominal", seed=seed)
    lim = device_limits(spec)
    cfg = DeviceConfig(motor_count=spec.n_joints, q_min=lim["q_min"], q_max=lim["q_max"],
                       qd_max=lim["qd_max"], tau_max=lim["tau_max"], watchdog_s=0.5,
                       spec_hash=wire_spec_hash(spec))
    server = DeviceServer(CountingDevice(cfg, plant), open_transport("pty"),
                          mode=mode, hold_until_enable=hold)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.close()
        plant.close()
