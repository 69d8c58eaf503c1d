"""Fixtures: a virtual controller (IdealPlant behind a Device) served on a real pty or socket.

``make_server`` is parametrized over the device logic: the Python reference (device.py) and
the C firmware core (firmware_bridge/firmware/, through c_device), so every test that uses
it runs against both, unchanged."""

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
from firmware_bridge.c_device import c_device_server

SPEC_HASH = bytes.fromhex("0123456789abcdef")


@pytest.fixture(params=["python", "c"], ids=["py-device", "c-device"])
def device_kind(request: pytest.FixtureRequest) -> str:
    """Which device logic serves: the Python reference or the C core."""
    return str(request.param)


@pytest.fixture
def make_server(device_kind: str) -> Iterator[Callable[..., DeviceServer]]:
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
        cfg = DeviceConfig(motor_count=motor_count, **config)  # type: ignore[arg-type]
        kw: dict[str, object] = dict(mode=mode, faults=faults, latency_ms=latency_ms)
        if device_kind == "c":
            server = c_device_server(cfg, plant, open_transport(transport), **kw)
        else:
            server = DeviceServer(Device(cfg, plant), open_transport(transport), **kw)  # type: ignore[arg-type]
        server.start()
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.close()
