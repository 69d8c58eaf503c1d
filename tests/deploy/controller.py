"""An in-process virtual controller for deploy tests: the real firmware_bridge device logic
behind a real pty, driving the ideal numpy plant (no PyBullet)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from deploy.link import wire_spec_hash
from firmware_bridge import Device, DeviceConfig, DeviceServer, FaultConfig, IdealPlant
from firmware_bridge.transports import open_transport
from robot_ppo.spec import RobotSpec


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
                       spec_hash: bytes | None = None) -> Iterator[DeviceServer]:
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
    server = DeviceServer(Device(cfg, plant), open_transport("pty"), mode=mode,  # type: ignore[arg-type]
                          faults=faults)
    server.start()
    try:
        yield server
    finally:
        server.close()
