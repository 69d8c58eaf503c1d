"""Every injected fault is seen by the host as bad frames, timeouts, BusTimeout or LinkLost."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import serial

from firmware_bridge import (
    BusError,
    BusTimeout,
    DeviceServer,
    FaultConfig,
    JointCommand,
    LinkLost,
    MotorBus,
)

ServerFactory = Callable[..., DeviceServer]
PERIOD = 0.001


def _hammer(bus: MotorBus, n: int) -> tuple[int, int]:
    """n command exchanges; returns (ok, timeouts). Accepted states must be uncorrupted."""
    ok = timeouts = 0
    cmd = JointCommand.pd(np.full(bus.motor_count, 0.2), kp=3.0, kd=0.1)
    for _ in range(n):
        try:
            s = bus.send_command(cmd)
        except BusTimeout:
            timeouts += 1
            continue
        ok += 1
        # Lockstep: device time is a whole number of periods; a corrupted frame would not be.
        assert abs(s.t / PERIOD - round(s.t / PERIOD)) < 1e-6
        assert np.all(np.abs(s.q) < 1.0)
    return ok, timeouts


@pytest.mark.parametrize(
    "faults",
    [
        FaultConfig(drop_rate=0.003, seed=1),
        FaultConfig(corrupt_rate=0.003, seed=2),
        FaultConfig(drop_rate=0.001, corrupt_rate=0.001, direction="both", seed=3),
    ],
    ids=["drop", "corrupt", "both-directions"],
)
def test_drop_and_corrupt_are_detected(make_server: ServerFactory, faults: FaultConfig) -> None:
    server = make_server(motor_count=3, faults=faults)
    bus = MotorBus(server.url, 3, timeout_s=0.03)
    for _ in range(20):  # the handshake itself may be hit
        try:
            bus.connect()
            bus.enable()
            break
        except BusTimeout:
            continue
    ok, timeouts = _hammer(bus, 250)
    st = bus.stats()
    injected = server.faults.dropped + server.faults.corrupted
    assert injected > 0
    assert timeouts > 0 and st["timeouts"] >= timeouts
    if faults.direction == "replies":
        assert st["frames_bad"] > 0
    if faults.corrupt_rate and faults.direction == "replies":
        assert st["crc_errors"] + st["cobs_errors"] + st["length_errors"] > 0
    assert ok > 125
    bus.close()


def test_delay_beyond_timeout_is_a_timeout_then_stale_reply(make_server: ServerFactory) -> None:
    server = make_server(motor_count=2, faults=FaultConfig(delay_ms=60.0))
    bus = MotorBus(server.url, 2, timeout_s=0.02)
    with pytest.raises(BusTimeout, match="HELLO"):
        bus.connect()
    time.sleep(0.1)  # let the late HELLO_REPLY arrive; the next bus discards it
    bus = MotorBus(server.url, 2, timeout_s=0.5)
    bus.connect()
    t0 = time.perf_counter()
    bus.read_state()
    assert time.perf_counter() - t0 >= 0.055
    assert bus.stats()["latency_p50_s"] >= 0.055
    bus.timeout_s = 0.01
    with pytest.raises(BusTimeout):
        bus.read_state()
    time.sleep(0.1)
    bus.timeout_s = 0.5
    bus.read_state()  # the late reply to the timed-out request is discarded as stale
    assert bus.stats()["stale"] >= 1
    bus.close()


def test_latency_option_delays_replies(make_server: ServerFactory) -> None:
    server = make_server(motor_count=1, latency_ms=20.0)
    with MotorBus(server.url, 1, timeout_s=0.5) as bus:
        for _ in range(5):
            bus.read_state()
        assert bus.stats()["latency_p50_s"] >= 0.019


def test_stall_raises_bus_timeout_and_recovers_after_window(make_server: ServerFactory) -> None:
    server = make_server(motor_count=2, faults=FaultConfig(stall_after=4, stall_s=0.3))
    bus = MotorBus(server.url, 2, timeout_s=0.05)
    bus.connect()  # reply 1
    bus.enable()  # 2
    bus.heartbeat()  # 3
    bus.read_state()  # 4
    with pytest.raises(BusTimeout):
        bus.read_state()
    assert server.faults.ignored >= 1
    time.sleep(0.3)
    assert bus.read_state().flags  # answering again
    bus.close()


def test_permanent_stall_then_close_still_returns(make_server: ServerFactory) -> None:
    server = make_server(motor_count=1, faults=FaultConfig(stall_after=1))
    bus = MotorBus(server.url, 1, timeout_s=0.02)
    bus.connect()
    with pytest.raises(BusTimeout):
        bus.heartbeat()
    assert bus.close() is False  # could not confirm DISABLE, but did not raise
    assert not bus.is_open


@pytest.mark.parametrize("transport", ["pty", "socket://127.0.0.1:0"])
def test_disconnect_raises_link_lost(make_server: ServerFactory, transport: str) -> None:
    server = make_server(transport, motor_count=2, faults=FaultConfig(disconnect_after=3))
    bus = MotorBus(server.url, 2, timeout_s=0.5)
    bus.connect()
    bus.read_state()
    # After the third reply the server closes the transport (a pty may discard that reply).
    with pytest.raises(LinkLost):
        for _ in range(5):
            bus.read_state()
    assert server.stats.disconnected
    bus.close()


def test_unreachable_socket_is_link_lost_with_hint() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(LinkLost, match="robot-ppo serve"):
            MotorBus(f"socket://127.0.0.1:{port}", 1, timeout_s=0.2).connect()


def test_garbage_on_the_line_crashes_neither_side(make_server: ServerFactory) -> None:
    server = make_server(motor_count=3)
    rng = random.Random(7)
    raw = serial.serial_for_url(server.url, timeout=0.05)
    for _ in range(50):
        raw.write(rng.randbytes(rng.randrange(1, 400)))
    raw.write(b"\x00" * 3)
    time.sleep(0.05)
    raw.read(100000)
    raw.close()
    assert server._thread is not None and server._thread.is_alive()
    assert server.decoder.stats.frames_bad > 0
    with MotorBus(server.url, 3, timeout_s=0.5) as bus:
        bus.enable()
        bus.send_command(JointCommand.pd(np.zeros(3), kp=1.0, kd=0.1))


def test_host_survives_a_device_that_sends_garbage() -> None:
    master, slave = os.openpty()
    import tty

    tty.setraw(slave)
    path = os.ttyname(slave)
    stop = threading.Event()

    def spew() -> None:
        rng = random.Random(3)
        while not stop.is_set():
            try:
                os.write(master, rng.randbytes(rng.randrange(1, 300)))
            except OSError:
                return
            time.sleep(0.001)

    t = threading.Thread(target=spew, daemon=True)
    t.start()
    try:
        bus = MotorBus(path, 2, timeout_s=0.05)
        for _ in range(5):
            with pytest.raises(BusError):  # only our own exception types come out
                bus.connect()
        assert not bus.is_open
    finally:
        stop.set()
        t.join()
        os.close(master)
        os.close(slave)
