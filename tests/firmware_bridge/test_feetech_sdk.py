"""Feetech's scservo_sdk (code no one here wrote) as the client of our STS3215 emulator, and
our ServoBus against the same emulator: real bytes over a real pty."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from firmware_bridge import DeviceServer, IdealPlant, open_transport
from firmware_bridge.errors import DeviceFault, ProtocolMismatch
from firmware_bridge.layouts import Mode
from firmware_bridge.messages import JointCommand
from firmware_bridge.servo.bus import ServoBus, ServoMissing
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.chain_feetech import FeetechChain
from firmware_bridge.servo.feetech import FeetechProtocol, decode_value, encode_value
from firmware_bridge.servo.tables_feetech import MODELS

scs = pytest.importorskip("scservo_sdk")


@pytest.fixture(autouse=True)
def _sdk_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK waits 2 x its hard-coded 16 ms latency timer + 2 ms for an answer; on the
    shared test machine a loaded emulator thread can miss that (LeRobot patches the same
    timeout). 50 ms per latency timer keeps the tests about bytes, not scheduling."""
    monkeypatch.setattr(scs.port_handler, "LATENCY_TIMER", 50)

IDS = [1, 2, 3]
STS = MODELS["STS3215"]
REG = STS.registers


def _cal(n: int = 3) -> Calibration:
    return Calibration.build([STS] * n, [0.0] * n, [1] * n, [1.0] * n)


@pytest.fixture
def chain_server() -> Iterator[tuple[FeetechChain, DeviceServer]]:
    chain = FeetechChain(IdealPlant(3, control_period_s=0.01), IDS, [STS] * 3, _cal(),
                         [True] * 3)
    server = DeviceServer(chain, open_transport("pty"), mode="realtime")  # type: ignore[arg-type]
    server.start()
    yield chain, server
    server.close()


@pytest.fixture
def sdk_client(chain_server: tuple[FeetechChain, DeviceServer]) -> Iterator[tuple]:
    port = scs.PortHandler(chain_server[1].url)
    assert port.openPort() and port.setBaudRate(1_000_000)
    yield port, scs.PacketHandler(0)
    port.closePort()


def test_sdk_ping_read_table_sync_write_sync_read(
        chain_server: tuple[FeetechChain, DeviceServer], sdk_client: tuple) -> None:
    chain, _ = chain_server
    port, ph = sdk_client
    model, res, err = ph.ping(port, 2)
    assert (model, res, err) == (777, scs.COMM_SUCCESS, 0)
    # the control table at the STS3215's addresses: mode 0 (position), limits, factory P/D
    assert ph.read1ByteTxRx(port, 1, REG["operating_mode"].address)[:2] == (0, scs.COMM_SUCCESS)
    assert ph.read2ByteTxRx(port, 1, REG["max_position"].address)[0] == 4095
    assert ph.read1ByteTxRx(port, 3, REG["pos_p"].address)[0] == 32
    assert ph.read1ByteTxRx(port, 3, REG["firmware"].address)[0] == 3
    # Sync Read of present positions, torque still off (the joints rest where they are)
    sr = scs.GroupSyncRead(port, ph, REG["present_position"].address, 2)
    for sid in IDS:
        assert sr.addParam(sid)
    assert sr.txRxPacket() == scs.COMM_SUCCESS
    present = {sid: sr.getData(sid, REG["present_position"].address, 2) for sid in IDS}
    expect = chain.cal.ticks_from_q(chain.plant.read().q)
    assert all(abs(present[s] - int(expect[i])) <= 64 for i, s in enumerate(IDS))
    for sid in IDS:
        assert ph.write1ByteTxRx(port, sid, REG["torque_enable"].address, 1)[0] == \
            scs.COMM_SUCCESS
    goals = {1: 1024, 2: 2048, 3: 3072}
    sw = scs.GroupSyncWrite(port, ph, REG["goal_position"].address, 2)
    for sid, g in goals.items():
        assert sw.addParam(sid, list(encode_value(g, 2)))
    assert sw.txPacket() == scs.COMM_SUCCESS
    assert ph.read2ByteTxRx(port, 3, REG["goal_position"].address)[0] == 3072
    assert ph.ping(port, 9)[1] == scs.COMM_RX_TIMEOUT  # nobody with ID 9


def test_sdk_sees_the_hardware_error_byte(chain_server: tuple[FeetechChain, DeviceServer],
                                          sdk_client: tuple) -> None:
    chain, _ = chain_server
    port, ph = sdk_client
    chain.inject_hardware_error(2, 5)  # overload
    res, err = ph.write1ByteTxRx(port, 2, REG["torque_enable"].address, 1)
    assert res == scs.COMM_SUCCESS and err == 1 << 5
    assert "overload" in ph.getRxPacketError(err).lower()
    # the servo turned its torque off and refuses to turn it on again
    assert ph.read1ByteTxRx(port, 2, REG["torque_enable"].address)[0] == 0
    assert ph.ping(port, 1)[2] == 0  # its neighbours are fine


def _bus(url: str, ids: list[int] = IDS, **kw: object) -> ServoBus:
    return ServoBus(url, FeetechProtocol(), ids, [STS] * len(ids), _cal(len(ids)),
                    [True] * len(ids), "position", kp=[10.0] * len(ids), kd=[1.5] * len(ids),
                    **kw)  # type: ignore[arg-type]


def test_our_bus_drives_the_emulator_and_the_sdk_reads_the_goals(
        chain_server: tuple[FeetechChain, DeviceServer]) -> None:
    chain, server = chain_server
    bus = _bus(server.url, timeout_s=0.2)
    info = bus.connect()
    assert "feetech STS3215" in info.firmware_id
    s = chain.servos[0]
    # connect wrote the gains through the gain model and set the return delay to 0
    assert (s.get("pos_p"), s.get("pos_d"), s.get("return_delay")) == (16, 32, 0)
    bus.enable()
    cmd = JointCommand.zeros(3)
    cmd.mode[:] = Mode.PD
    cmd.q[:] = [0.5, -0.25, 0.0]
    bus.send_command(cmd)
    bus.close()
    port = scs.PortHandler(server.url)
    assert port.openPort()
    ph = scs.PacketHandler(0)
    try:
        for sid, q in zip(IDS, cmd.q, strict=True):
            raw, res, _ = ph.read2ByteTxRx(port, sid, REG["goal_position"].address)
            assert res == scs.COMM_SUCCESS
            got = decode_value(raw.to_bytes(2, "little"), signed=True)
            assert got == round(q / (2 * np.pi) * 4096 + 2048)
        # close() left every servo with torque off
        for sid in IDS:
            assert ph.read1ByteTxRx(port, sid, REG["torque_enable"].address)[0] == 0
    finally:
        port.closePort()


def test_bus_hardware_error_is_a_fault_naming_servo_and_bit(
        chain_server: tuple[FeetechChain, DeviceServer]) -> None:
    chain, server = chain_server
    bus = _bus(server.url, timeout_s=0.2)
    bus.connect()
    bus.enable()
    chain.inject_hardware_error(3, 2)  # overheating
    cmd = JointCommand.zeros(3)
    cmd.mode[:] = Mode.PD
    with pytest.raises(DeviceFault, match=r"servo ID 3 \(STS3215\).*bit 2 overheating"):
        bus.send_command(cmd)
    # the bus turned torque off on every servo (a Sync Write: no reply, so give the
    # emulator's thread a moment to apply it)
    deadline = time.monotonic() + 1.0
    while any(s.torque for s in chain.servos) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert all(not s.torque for s in chain.servos)
    bus.close()


def test_wrong_model_and_missing_id_are_refused_by_name(
        chain_server: tuple[FeetechChain, DeviceServer]) -> None:
    _, server = chain_server
    scs_bus = ServoBus(server.url, FeetechProtocol(), [1], [MODELS["SCS0009"]],
                       Calibration.build([MODELS["SCS0009"]], [0.0], [1], [1.0]), [True],
                       "position")
    with pytest.raises(ProtocolMismatch, match="servo ID 1 model number"):
        scs_bus.connect()
    with pytest.raises(ServoMissing, match="servo ID 7 did not answer a ping at 1000000 baud"):
        _bus(server.url, ids=[1, 7, 3], timeout_s=0.2).connect()


def test_torque_mode_on_sts3215_is_refused_before_the_port_opens() -> None:
    with pytest.raises(ValueError, match=r"STS3215\) has no current mode"):
        ServoBus("/dev/does-not-exist", FeetechProtocol(), [1], [STS], _cal(1), [True],
                 "current")


def test_our_bus_drives_scs_servos_which_have_no_operating_mode_register() -> None:
    """An SCS0009 (big-endian, position only, no Operating Mode register) connects, takes a
    goal and reports its position like an STS3215."""
    scs_model = MODELS["SCS0009"]
    cal = Calibration.build([scs_model] * 2, [0.0] * 2, [1] * 2, [1.0] * 2)
    chain = FeetechChain(IdealPlant(2, control_period_s=0.01), [1, 2], [scs_model] * 2, cal,
                         [True] * 2)
    server = DeviceServer(chain, open_transport("pty"), mode="realtime")  # type: ignore[arg-type]
    server.start()
    try:
        bus = ServoBus(server.url, FeetechProtocol(), [1, 2], [scs_model] * 2, cal, [True] * 2,
                       "position", kp=[1.0] * 2, kd=[0.1] * 2, timeout_s=0.2)
        assert "SCS0009" in bus.connect().firmware_id
        bus.enable()
        cmd = JointCommand.zeros(2)
        cmd.mode[:] = Mode.PD
        cmd.q[:] = [0.3, -0.2]
        for _ in range(5):  # several control periods: the emulator steps its plant
            state = bus.send_command(cmd)
            time.sleep(0.03)
        assert np.isfinite(state.q).all()
        assert chain.servos[0].get("goal_position") != chain.servos[1].get("goal_position")
        assert server.stats.plant_steps > 0
        assert bus.close()
    finally:
        server.close()
