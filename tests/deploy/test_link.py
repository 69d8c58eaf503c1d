"""The runtime's link sends the light contract's JointCommand as it is: the COMMAND bytes on
a real pty are the protocol's layout of its numbers (docs/protocol.md), and the contract's
mode values are the wire's mode byte."""

from __future__ import annotations

import struct

import numpy as np

from deploy.link import Link
from firmware_bridge.framing import Frame
from firmware_bridge.layouts import Mode, MsgType
from robot_ppo.action import MODE_DAMPING, MODE_OFF, MODE_PD, ActionMapping
from robot_ppo.spec import RobotSpec

from .controller import CountingDevice, virtual_controller


def test_contract_modes_are_the_wire_mode_byte() -> None:
    wire = {m.name: int(m) for m in Mode}
    assert wire == {"OFF": MODE_OFF, "PD": MODE_PD, "DAMPING": MODE_DAMPING}


class PayloadDevice(CountingDevice):
    """The real device logic, keeping the raw payload of every COMMAND frame."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)
        self.payloads: list[bytes] = []

    def handle(self, frame: Frame, now: float, step_on_command: bool = False) -> bytes:
        if frame.msg_type == MsgType.COMMAND:
            self.payloads.append(bytes(frame.payload))
        return super().handle(frame, now, step_on_command)


def _expected_payload(mode: np.ndarray, q: np.ndarray, qd: np.ndarray, tau: np.ndarray,
                      kp: np.ndarray, kd: np.ndarray) -> bytes:
    """COMMAND as docs/protocol.md writes it, per joint: mode u8, q i32 (1e-6 rad), qd i32
    (1e-5 rad/s), tau i32 (1e-5 N m), kp f32, kd f32; little-endian."""
    return b"".join(struct.pack("<Biiiff", int(m), round(a * 1e6),
                                round(b * 1e5), round(c * 1e5), p, d)
                    for m, a, b, c, p, d in zip(mode, q, qd, tau, kp, kd, strict=True))


def test_link_sends_the_contract_command_byte_for_byte(cartpole: RobotSpec) -> None:
    mapping = ActionMapping(cartpole)
    cmd = mapping.to_command(mapping.targets(np.full(cartpole.act_dim, 0.37)))
    cmd.qd[:] = 0.125
    cmd.tau[:] = -0.0625
    cmd.kd[:] = 0.3  # not exact in f32: the wire carries the f32 rounding
    assert cmd.mode.dtype == np.uint8 and cmd.q.dtype == np.float64
    with virtual_controller(cartpole, device_cls=PayloadDevice) as srv:
        link = Link(srv.url, cartpole, 1_000_000, connect_timeout_s=5.0, link_timeout_s=0.5)
        link.connect()
        try:
            link.bus.enable()
            state = link.send(cmd)
        finally:
            link.close()
        device = srv.device
        assert isinstance(device, PayloadDevice)
    assert state is not None
    assert device.payloads == [_expected_payload(cmd.mode, cmd.q, cmd.qd, cmd.tau, cmd.kp,
                                                 cmd.kd)]
    got = device.host_commands[0]  # what the device decoded: the same numbers
    np.testing.assert_array_equal(got.mode, cmd.mode)
    np.testing.assert_allclose(got.q, cmd.q, atol=0.5e-6)
    np.testing.assert_array_equal(got.kd, cmd.kd.astype(np.float32))
