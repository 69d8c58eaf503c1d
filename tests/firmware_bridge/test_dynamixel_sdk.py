"""The ROBOTIS dynamixel_sdk (code no one here wrote) as the client of our servo emulator,
and our ServoBus against the same emulator: real bytes over a real pty."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from firmware_bridge import DeviceServer, IdealPlant, open_transport
from firmware_bridge.errors import DeviceFault, ProtocolMismatch
from firmware_bridge.messages import JointCommand
from firmware_bridge.servo.bus import ServoBus, ServoMissing
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.chain import ServoChain
from firmware_bridge.servo.dynamixel import DynamixelProtocol
from firmware_bridge.servo.tables_dynamixel import MODELS

sdk = pytest.importorskip("dynamixel_sdk")


@pytest.fixture(autouse=True)
def _sdk_patience(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK waits 2 × its LATENCY_TIMER (16 ms) + 2 ms for an answer; on a loaded test
    machine the emulator (sharing this process's GIL, or a busy CPU) can miss that, so the
    tests give it 100 ms, as LeRobot patches the same timeout for real adapters."""
    monkeypatch.setattr(sdk.port_handler, "LATENCY_TIMER", 100)

IDS = [1, 2, 3]
XM = MODELS["XM430-W210"]


def _cal(n: int = 3) -> Calibration:
    return Calibration.build([XM] * n, [0.0] * n, [1] * n, [1.0] * n)


@pytest.fixture
def chain_server() -> Iterator[tuple[ServoChain, DeviceServer]]:
    chain = ServoChain(IdealPlant(3, control_period_s=0.01), IDS, [XM] * 3, _cal(), [True] * 3)
    # lock-step: the plant moves only on a group write of goals, so what the SDK reads can
    # be compared with the plant exactly
    server = DeviceServer(chain, open_transport("pty"), mode="lockstep")  # type: ignore[arg-type]
    server.start()
    yield chain, server
    server.close()


def _sdk(url: str) -> tuple[object, object]:
    port = sdk.PortHandler(url)
    assert port.openPort() and port.setBaudRate(1_000_000)
    return port, sdk.PacketHandler(2.0)


def test_sdk_ping_read_write_sync(chain_server: tuple[ServoChain, DeviceServer]) -> None:
    chain, server = chain_server
    port, ph = _sdk(server.url)
    try:
        model, res, err = ph.ping(port, 2)
        assert (model, res, err) == (1030, sdk.COMM_SUCCESS, 0)
        mode, res, err = ph.read1ByteTxRx(port, 1, 11)
        assert (mode, res, err) == (3, sdk.COMM_SUCCESS, 0)
        for sid in IDS:
            assert ph.write1ByteTxRx(port, sid, 64, 1)[0] == sdk.COMM_SUCCESS
        # EEPROM is locked with torque on: an access error in the status error byte
        res, err = ph.write1ByteTxRx(port, 1, 11, 0)
        assert res == sdk.COMM_SUCCESS and err == 7
        sw = sdk.GroupSyncWrite(port, ph, 116, 4)
        goals = {1: 1024, 2: 2048, 3: 3072}
        for sid, g in goals.items():
            assert sw.addParam(sid, list(g.to_bytes(4, "little")))
        assert sw.txPacket() == sdk.COMM_SUCCESS
        assert ph.read4ByteTxRx(port, 3, 116)[0] == 3072
        sr = sdk.GroupSyncRead(port, ph, 132, 4)
        for sid in IDS:
            assert sr.addParam(sid)
        assert sr.txRxPacket() == sdk.COMM_SUCCESS
        present = {sid: sr.getData(sid, 132, 4) for sid in IDS}
        # the emulator's present position is the plant's, converted by the calibration
        expect = chain.cal.ticks_from_q(chain.plant.read().q)
        assert [present[s] for s in IDS] == [int(t) for t in expect]
        assert present[1] != 2048  # the sync write's goals moved the plant (one step)
        missing = ph.ping(port, 9)[1]
        assert missing == sdk.COMM_RX_TIMEOUT
    finally:
        port.closePort()


def _bus(url: str, ids: list[int] = IDS, **kw: object) -> ServoBus:
    return ServoBus(url, DynamixelProtocol(), ids, [XM] * len(ids), _cal(len(ids)),
                    [True] * len(ids), "current", timeout_s=0.05, **kw)  # type: ignore[arg-type]


def test_our_bus_configures_and_the_sdk_reads_it_back(
        chain_server: tuple[ServoChain, DeviceServer]) -> None:
    chain, server = chain_server
    bus = _bus(server.url)
    info = bus.connect()
    assert info.motor_count == 3 and "XM430-W210" in info.firmware_id
    bus.enable()
    bus.send_command(JointCommand.pd(np.zeros(3), 0.0, 0.0, tau=[0.5, -0.5, 0.0]))
    assert bus.counts["group_writes"] == 1
    assert bus.close()
    port, ph = _sdk(server.url)
    try:
        assert ph.read1ByteTxRx(port, 1, 11)[0] == 0  # current mode
        assert ph.read1ByteTxRx(port, 1, 9)[0] == 0  # return delay 0
        assert ph.read1ByteTxRx(port, 2, 98)[0] == 5  # watchdog 100 ms / 20 ms
        assert ph.read1ByteTxRx(port, 2, 64)[0] == 0  # torque off after close()
        cur = ph.read2ByteTxRx(port, 1, 102)[0]
        expect = int(chain.cal.ticks_from_tau(np.array([0.5, 0, 0]))[0])
        assert cur == expect and cur > 0
    finally:
        port.closePort()


def test_missing_and_wrong_servo_refused_before_torque(
        chain_server: tuple[ServoChain, DeviceServer]) -> None:
    chain, server = chain_server
    with pytest.raises(ServoMissing, match="servo ID 7 did not answer a ping at 1000000 baud"):
        _bus(server.url, [1, 2, 7]).connect()
    wrong = ServoBus(server.url, DynamixelProtocol(), IDS, [MODELS["XL330-M288"]] * 3,
                     _cal(), [True] * 3, "current")
    with pytest.raises(ProtocolMismatch, match="servo ID 1 model number"):
        wrong.connect()
    assert not chain.enabled


def test_hardware_error_is_a_fault_naming_servo_and_bit(
        chain_server: tuple[ServoChain, DeviceServer]) -> None:
    chain, server = chain_server
    bus = _bus(server.url)
    bus.connect()
    bus.enable()
    chain.inject_hardware_error(2, 5)
    with pytest.raises(DeviceFault, match=r"servo ID 2 .*bit 5 overload error"):
        bus.send_command(JointCommand.zeros(3))
    assert bus.counts["hardware_errors"] == 1
    assert not chain.enabled  # every servo's torque is off
    bus.close()


def test_bus_watchdog_stops_and_refuses_goals(
        chain_server: tuple[ServoChain, DeviceServer]) -> None:
    _, server = chain_server
    bus = _bus(server.url, watchdog_s=0.04)
    bus.connect()
    bus.enable()
    time.sleep(0.15)
    port, ph = _sdk(server.url)
    try:
        res, err = ph.write2ByteTxRx(port, 1, 102, 50)
        assert res == sdk.COMM_SUCCESS and err == 4  # data range error: goals refused
        assert ph.read1ByteTxRx(port, 1, 98)[0] == 0xFF  # -1: tripped
    finally:
        port.closePort()
    with pytest.raises(DeviceFault, match="watchdog"):
        bus.send_command(JointCommand.zeros(3))
    bus.enable()  # re-arms the watchdog
    bus.send_command(JointCommand.zeros(3))
    bus.close()


def test_sdk_fast_sync_read_bulk_reg_write_reboot(
        chain_server: tuple[ServoChain, DeviceServer]) -> None:
    chain, server = chain_server
    port, ph = _sdk(server.url)
    try:
        fast = sdk.GroupSyncRead(port, ph, 132, 4)
        for sid in IDS:
            assert fast.addParam(sid)
        assert fast.fastSyncRead() == sdk.COMM_SUCCESS
        expect = chain.cal.ticks_from_q(chain.plant.read().q)
        assert [fast.getData(s, 132, 4) for s in IDS] == [int(t) for t in expect]

        bw = sdk.GroupBulkWrite(port, ph)
        assert bw.addParam(1, 116, 4, list((1500).to_bytes(4, "little")))
        assert bw.addParam(2, 102, 2, list((77).to_bytes(2, "little")))
        assert bw.txPacket() == sdk.COMM_SUCCESS
        br = sdk.GroupBulkRead(port, ph)
        assert br.addParam(1, 116, 4) and br.addParam(2, 102, 2)
        assert br.txRxPacket() == sdk.COMM_SUCCESS
        assert (br.getData(1, 116, 4), br.getData(2, 102, 2)) == (1500, 77)

        # Reg Write holds the value until Action
        assert ph.regWriteTxRx(port, 3, 116, 4, list((900).to_bytes(4, "little")))[0] == \
            sdk.COMM_SUCCESS
        before, res, _ = ph.read4ByteTxRx(port, 3, 116)
        assert res == sdk.COMM_SUCCESS and before != 900
        # broadcast Action: no status (the SDK never waits for an Action's status)
        assert ph.action(port, sdk.BROADCAST_ID) == sdk.COMM_SUCCESS
        assert ph.read4ByteTxRx(port, 3, 116)[:2] == (900, sdk.COMM_SUCCESS)

        # a hardware error sets the alert bit in every status; only Reboot clears it
        chain.inject_hardware_error(1, 2)
        value, res, err = ph.read1ByteTxRx(port, 1, 70)
        assert (value, res, err) == (1 << 2, sdk.COMM_SUCCESS, 0x80)
        assert ph.write1ByteTxRx(port, 1, 64, 1)[1] == 0x80 | 7  # torque refused
        assert ph.reboot(port, 1)[0] == sdk.COMM_SUCCESS
        assert ph.read1ByteTxRx(port, 1, 70) == (0, sdk.COMM_SUCCESS, 0)
    finally:
        port.closePort()


@pytest.mark.parametrize("firmware", [52, 44])
def test_our_bus_uses_fast_sync_read_where_the_firmware_has_it(firmware: int) -> None:
    chain = ServoChain(IdealPlant(3, control_period_s=0.01), IDS, [XM] * 3, _cal(), [True] * 3,
                       firmware=firmware)
    chain.plant.q[:] = [0.1, -0.2, 0.3]  # type: ignore[attr-defined]
    chain.step_plant()
    with DeviceServer(chain, open_transport("pty"), mode="realtime") as server:  # type: ignore[arg-type]
        server.start()
        bus = _bus(server.url)
        bus.connect()
        assert bus._fast is (firmware >= 45)
        state = bus.read_state()
        assert np.allclose(state.q, [0.1, -0.2, 0.3], atol=2e-3)
        bus.enable()
        chain.inject_hardware_error(3, 0)
        with pytest.raises(DeviceFault, match=r"servo ID 3 .*bit 0 input voltage error"):
            bus.read_state()
        bus.close()
