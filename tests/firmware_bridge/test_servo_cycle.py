"""One control cycle on a smart-servo bus is one group write and one group read, whatever the
number of servos: counted on the device side (the emulated chain records every instruction
packet it receives through the pty), not by the bus's own counters."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge import DeviceServer, IdealPlant, open_transport
from firmware_bridge.layouts import Mode
from firmware_bridge.messages import JointCommand
from firmware_bridge.servo.bus import ServoBus
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.chain import ServoChain
from firmware_bridge.servo.dynamixel import DynamixelProtocol, Inst, Packet
from firmware_bridge.servo.tables_dynamixel import MODELS

XM = MODELS["XM430-W210"]


class RecordingChain(ServoChain):
    """The emulated chain, also keeping the instruction byte of every packet it receives."""

    received: list[int]

    def handle(self, p: Packet, now: float, step_on_command: bool = False) -> bytes:
        if p.error is None:
            self.received.append(p.inst)
        return super().handle(p, now, step_on_command)


@pytest.mark.parametrize(("n", "firmware", "read"), [(3, 52, Inst.FAST_SYNC_READ),
                                                     (6, 44, Inst.SYNC_READ)])
def test_a_cycle_is_one_group_write_and_one_group_read(n: int, firmware: int, read: int) -> None:
    ids = list(range(1, n + 1))
    cal = Calibration.build([XM] * n, [0.0] * n, [1] * n, [1.0] * n)
    chain = RecordingChain(IdealPlant(n, control_period_s=0.01), ids, [XM] * n, cal, [True] * n,
                           firmware=firmware)
    chain.received = []
    with DeviceServer(chain, open_transport("pty"), mode="realtime") as server:  # type: ignore[arg-type]
        server.start()
        bus = ServoBus(server.url, DynamixelProtocol(), ids, [XM] * n, cal, [True] * n,
                       "current", timeout_s=0.05)
        bus.connect()
        bus.enable()
        cmd = JointCommand.zeros(n)
        cmd.mode[:] = Mode.PD
        cmd.kp[:] = 1.0
        chain.received.clear()
        cycles = 10
        for k in range(cycles):
            cmd.q[:] = 0.01 * k
            state = bus.send_command(cmd)
        assert np.isfinite(state.q).all()
        assert chain.received == [Inst.SYNC_WRITE, read] * cycles
        chain.received.clear()
        bus.read_state()
        assert chain.received == [read]
        bus.close()
