"""The runtime's end-to-end and fault tests (test_runtime.py) again, unchanged, with the C
firmware core (firmware_bridge/firmware/, through firmware_bridge.c_device) deciding every
reply, limit and watchdog trip and decoding every byte on the device side."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from firmware_bridge.c_device import CDevice, CFrameDecoder
from firmware_bridge.codec import CommandCodec
from firmware_bridge.framing import Frame
from firmware_bridge.layouts import MsgType
from firmware_bridge.messages import JointCommand
from firmware_bridge.server import DeviceServer

from . import controller
from . import test_runtime as _runtime_tests


class CountingCDevice(CDevice):
    """CDevice with controller.CountingDevice's records: ENABLE requests handled, and every
    command the host sent that the (C) device applied, as received (before its limits)."""

    enables = 0

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.host_commands: list[JointCommand] = []
        self._codec = CommandCodec(self.config.motor_count)

    def handle(self, frame: Frame, now: float, step_on_command: bool = False) -> bytes:
        if frame.msg_type == MsgType.ENABLE:
            self.enables += 1
        applied = self.commands_applied
        reply = super().handle(frame, now, step_on_command)
        if self.commands_applied != applied:
            self.host_commands.append(self._codec.decode(frame.payload))
        return reply


def _c_server(device: object, transport: object, **kw: object) -> DeviceServer:
    server = DeviceServer(device, transport, **kw)  # type: ignore[arg-type]
    server.decoder = CFrameDecoder()  # type: ignore[assignment]
    return server


@pytest.fixture(autouse=True)
def _c_device(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """virtual_controller builds CDevice + the C decoder instead of device.py's."""
    monkeypatch.setattr(controller, "Device", CountingCDevice)
    if hasattr(controller, "CountingDevice"):
        monkeypatch.setattr(controller, "CountingDevice", CountingCDevice)
    monkeypatch.setattr(controller, "DeviceServer", _c_server)
    yield


# Every test of test_runtime.py that talks to a virtual controller runs here as well.
for _name, _fn in list(vars(_runtime_tests).items()):
    if _name.startswith("test_") and "virtual_controller(" in inspect.getsource(_fn):
        globals()[_name] = _fn


def test_the_c_core_is_really_serving() -> None:
    from robot_ppo.spec import load_spec

    with controller.virtual_controller(load_spec("cartpole")) as srv:
        assert isinstance(srv.device, CDevice)
        assert isinstance(srv.decoder, CFrameDecoder)
