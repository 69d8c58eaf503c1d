"""Fixtures: a virtual controller (IdealPlant behind a Device) served on a real pty or socket."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from firmware_bridge import (
    Device,
    DeviceConfig,
    DeviceServer,
    FaultConfig,
    IdealPlant,
    open_transport,
)

SPEC_HASH = bytes.fromhex("0123456789abcdef")


@pytest.fixture
def make_server() -> Iterator[Callable[..., DeviceServer]]:
    """Start servers in threads; every one is closed at teardown.

    Keyword arguments other than the ones named below go to ``DeviceConfig``.
    """
    servers: list[DeviceServer] = []

    def make(
        transport: str = "pty",
        motor_count: int = 3,
        mode: str = "lockstep",
        faults: FaultConfig | None = None,
        latency_ms: float = 0.0,
        period_s: float = 0.001,
        with_imu: bool = False,
        **config: object,
    ) -> DeviceServer:
        config.setdefault("spec_hash", SPEC_HASH)
        config.setdefault("watchdog_s", 5.0 if mode == "lockstep" else 0.1)
        plant = IdealPlant(motor_count, control_period_s=period_s, with_imu=with_imu)
        device = Device(DeviceConfig(motor_count=motor_count, **config), plant)  # type: ignore[arg-type]
        server = DeviceServer(
            device,
            open_transport(transport),
            mode=mode,  # type: ignore[arg-type]
            faults=faults,
            latency_ms=latency_ms,
        )
        server.start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.close()
