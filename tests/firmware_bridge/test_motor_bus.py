"""MotorBus against the virtual controller over real ptys and sockets (real bytes, pyserial)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from firmware_bridge import (
    BusError,
    DeviceError,
    DeviceFault,
    ErrorCode,
    JointCommand,
    Mode,
    MotorBus,
    ProtocolMismatch,
    Status,
)
from firmware_bridge.framing import encode_frame
from firmware_bridge.layouts import PROTOCOL_VERSION, MsgType
from firmware_bridge.server import DeviceServer

ServerFactory = Callable[..., DeviceServer]
SPEC_HASH = bytes.fromhex("0123456789abcdef")  # what conftest's servers report


@pytest.mark.parametrize("transport", ["pty", "socket://127.0.0.1:0"])
def test_every_message_type_round_trips(make_server: ServerFactory, transport: str) -> None:
    server = make_server(transport, motor_count=3, with_imu=True)
    with MotorBus(server.url, 3, spec_hash=SPEC_HASH, timeout_s=1.0) as bus:
        assert bus.info is not None
        assert bus.info.motor_count == 3 and bus.info.has_imu
        assert bus.info.firmware_id == "virtual-controller"
        assert bus.info.spec_hash == SPEC_HASH
        s = bus.read_state()
        assert not s.enabled and s.flags & Status.HANDSHAKE and s.imu is not None
        np.testing.assert_allclose(s.imu.quat, [0, 0, 0, 1])
        assert bus.enable().enabled
        target = np.array([0.5, -0.25, 0.1])
        for _ in range(300):
            s = bus.send_command(JointCommand.pd(target, kp=5.0, kd=0.2))
        np.testing.assert_allclose(s.q, target, atol=1e-2)
        assert s.t == pytest.approx(0.3, abs=1e-9)  # lockstep: one period per command
        assert bus.heartbeat().enabled
        assert not bus.disable().enabled
        st = bus.estop()
        assert st.estopped and not st.enabled
        assert bus.enable().enabled and not bus.read_state().estopped
        stats = bus.stats()
        assert stats["frames_bad"] == 0 and stats["timeouts"] == 0
        assert stats["latency_n"] >= 300 and stats["latency_p50_s"] > 0
    assert not server.device.enabled  # close() left torque disabled


def test_close_leaves_motors_disabled(make_server: ServerFactory) -> None:
    server = make_server(motor_count=2)
    bus = MotorBus(server.url, 2, timeout_s=1.0)
    bus.connect()
    bus.enable()
    bus.send_command(JointCommand.pd([0.3, 0.3], kp=2.0, kd=0.1))
    assert server.device.enabled
    assert bus.close() is True
    assert not server.device.enabled
    assert server.device.active.mode.tolist() == [Mode.DAMPING] * 2
    assert not bus.is_open
    assert bus.close() is False  # idempotent, never raises


def test_command_rejected_until_enabled(make_server: ServerFactory) -> None:
    server = make_server(motor_count=2)
    with MotorBus(server.url, 2, timeout_s=1.0) as bus:
        with pytest.raises(DeviceFault, match="enable") as info:
            bus.send_command(JointCommand.pd([1.0, 1.0], kp=2.0, kd=0.1))
        assert info.value.state.flags & Status.REJECTED  # type: ignore[attr-defined]
        assert server.device.commands_applied == 0
        # The rejected command was not applied: the plant held the safe command.
        assert server.device.plant.last_cmd.mode.tolist() == [Mode.DAMPING] * 2  # type: ignore[attr-defined]


def test_limits_are_applied_on_the_device(make_server: ServerFactory) -> None:
    server = make_server(
        motor_count=2,
        q_min=-0.5,
        q_max=[0.5, 1.0],
        qd_max=2.0,
        tau_max=3.0,
        kp_max=10.0,
        kd_max=1.0,
    )
    with MotorBus(server.url, 2, timeout_s=1.0) as bus:
        bus.enable()
        cmd = JointCommand.pd(
            [2.0, -2.0], kp=[100.0, 5.0], kd=[5.0, -1.0], qd=[9.0, -9.0], tau=[-7.0, 1.0]
        )
        s = bus.send_command(cmd)
        assert s.flags & Status.CLAMPED
        applied = server.device.active
        np.testing.assert_allclose(applied.q, [0.5, -0.5])
        np.testing.assert_allclose(applied.qd, [2.0, -2.0])
        np.testing.assert_allclose(applied.tau, [-3.0, 1.0])
        np.testing.assert_allclose(applied.kp, [10.0, 5.0])
        np.testing.assert_allclose(applied.kd, [1.0, 0.0])
        s = bus.send_command(JointCommand.pd([0.1, 0.1], kp=1.0, kd=0.1))
        assert not s.flags & Status.CLAMPED
        assert bus.stats()["clamped"] == 1


def test_protocol_version_mismatch_names_both_versions(make_server: ServerFactory) -> None:
    server = make_server(protocol_version=PROTOCOL_VERSION + 1)
    bus = MotorBus(server.url, 3, timeout_s=1.0)
    with pytest.raises(ProtocolMismatch) as info:
        bus.connect()
    msg = str(info.value)
    assert f"v{PROTOCOL_VERSION}" in msg and f"v{PROTOCOL_VERSION + 1}" in msg
    assert not bus.is_open


def test_motor_count_and_spec_hash_mismatch(make_server: ServerFactory) -> None:
    server = make_server(motor_count=3)
    with pytest.raises(ProtocolMismatch, match=r"motor count.*expects 4.*reports 3"):
        MotorBus(server.url, 4, timeout_s=1.0).connect()
    with pytest.raises(ProtocolMismatch, match="spec hash") as info:
        MotorBus(server.url, 3, spec_hash=b"\xff" * 8, timeout_s=1.0).connect()
    assert "ffffffffffffffff" in str(info.value) and SPEC_HASH.hex() in str(info.value)
    # The hex digest's first 8 bytes of a longer hash are what is compared.
    MotorBus(server.url, 3, spec_hash=SPEC_HASH + b"tail", timeout_s=1.0).connect()


def test_device_answers_bad_requests_with_error_frames(make_server: ServerFactory) -> None:
    import serial

    from firmware_bridge.codec import decode_error
    from firmware_bridge.framing import FrameDecoder

    server = make_server(motor_count=2)
    port = serial.serial_for_url(server.url, timeout=1.0)
    dec = FrameDecoder()

    def ask(msg_type: int, payload: bytes = b"", seq: int = 1) -> tuple[int, bytes]:
        port.write(encode_frame(PROTOCOL_VERSION, msg_type, seq, payload))
        while True:
            frames = dec.feed(port.read(max(1, port.in_waiting)))
            if frames:
                return frames[0].msg_type, frames[0].payload

    t, p = ask(MsgType.ENABLE)  # before HELLO
    assert t == MsgType.ERROR and decode_error(p).code == ErrorCode.NO_HANDSHAKE
    assert ask(MsgType.HELLO)[0] == MsgType.HELLO_REPLY
    t, p = ask(0x7E)
    assert t == MsgType.ERROR and decode_error(p).code == ErrorCode.UNKNOWN_TYPE
    t, p = ask(MsgType.COMMAND, b"\x01" * 5)
    assert t == MsgType.ERROR and decode_error(p).code == ErrorCode.BAD_LENGTH
    t, p = ask(MsgType.COMMAND, b"\x07" + bytes(41))
    assert t == MsgType.ERROR and decode_error(p).code == ErrorCode.BAD_VALUE
    port.close()
    # The bus turns an ERROR into a typed exception carrying the code.
    bus = MotorBus(server.url, 2, timeout_s=1.0)
    bus.connect()
    with pytest.raises(DeviceError) as info:
        bus._state_exchange(MsgType.COMMAND, b"\x00" * 3)
    assert info.value.code == ErrorCode.BAD_LENGTH
    bus.close()


def test_nan_command_is_refused_on_the_host(make_server: ServerFactory) -> None:
    server = make_server(motor_count=2)
    with MotorBus(server.url, 2, timeout_s=1.0) as bus:
        bus.enable()
        with pytest.raises(ValueError, match="finite"):
            bus.send_command(JointCommand.pd([0.0, float("nan")], kp=1.0, kd=0.0))


def test_calls_before_connect_fail_clearly() -> None:
    with pytest.raises(BusError, match="connect"):
        MotorBus("loop://", 1).read_state()
