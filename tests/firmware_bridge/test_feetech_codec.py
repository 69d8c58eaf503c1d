"""Feetech codec against the real ``scservo_sdk``: the SDK writes instruction packets into a
pty and we compare its bytes with ours; our status packets go back and the SDK must parse them
(values, error byte). Plus the sign-magnitude values and the decoder's resynchronisation."""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable, Iterator

import pytest

from firmware_bridge.servo import feetech as ft
from firmware_bridge.servo.tables_feetech import MODELS

scs = pytest.importorskip("scservo_sdk")


@pytest.fixture(autouse=True)
def _sdk_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK waits 2 x its hard-coded 16 ms latency timer + 2 ms for an answer; on the
    shared test machine a loaded emulator thread can miss that (LeRobot patches the same
    timeout). 50 ms per latency timer keeps the tests about bytes, not scheduling."""
    monkeypatch.setattr(scs.port_handler, "LATENCY_TIMER", 50)


class PtyPeer:
    """The far end of a pty: records what the SDK sends and answers through ``reply``."""

    def __init__(self, reply: Callable[[ft.Packet], bytes]) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self._slave = slave
        self.reply = reply
        self.received = bytearray()
        self.decoder = ft.FeetechDecoder(status=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            data = os.read(self.master, 4096)
            self.received += data
            for pkt in self.decoder.feed(data):
                out = self.reply(pkt)
                if out:
                    os.write(self.master, out)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def sdk_port() -> Iterator[Callable[..., tuple[object, object, PtyPeer]]]:
    peers: list[tuple[object, PtyPeer]] = []

    def make(reply: Callable[[ft.Packet], bytes], end: int = 0) -> tuple[object, object, PtyPeer]:
        peer = PtyPeer(reply)
        port = scs.PortHandler(peer.path)
        assert port.openPort() and port.setBaudRate(1_000_000)
        ph = scs.PacketHandler(end)
        peers.append((port, peer))
        return port, ph, peer

    yield make
    for port, peer in peers:
        port.closePort()  # type: ignore[attr-defined]
        peer.close()
    scs.PacketHandler(0)  # the SDK keeps the byte order in a global: leave it at STS


def _silent(_: ft.Packet) -> bytes:
    return b""


def test_checksum_and_packet_layout() -> None:
    # Ping servo 1: FF FF 01 02 01 ~(1 + 2 + 1) = FB (the protocol manual's example)
    assert ft.encode_instruction(1, ft.Inst.PING) == bytes.fromhex("ffff010201fb")
    # Status of servo 1, no error, no data
    assert ft.encode_status(1, 0) == bytes.fromhex("ffff010200fc")
    assert ft.checksum(bytes((1, 4, 2, 56, 2))) == (~(1 + 4 + 2 + 56 + 2)) & 0xFF


def test_ping_read_write_bytes_match_sdk(sdk_port: Callable[..., tuple]) -> None:
    sts = MODELS["STS3215"]
    model_reg = sts.registers["model_number"]

    def reply(pkt: ft.Packet) -> bytes:
        if pkt.inst == ft.Inst.PING:
            return ft.encode_status(pkt.id, 0)
        if pkt.inst == ft.Inst.READ and pkt.params[0] == model_reg.address:
            return ft.encode_status(pkt.id, 0, ft.encode_value(777, 2))
        if pkt.inst == ft.Inst.READ:
            return ft.encode_status(pkt.id, 0, ft.encode_value(-300, 2, signed=True))
        return ft.encode_status(pkt.id, 0)

    port, ph, peer = sdk_port(reply)
    proto = ft.FeetechProtocol()
    model, result, error = ph.ping(port, 3)
    assert (model, result, error) == (777, scs.COMM_SUCCESS, 0)
    # the SDK's ping is a Ping then a 2-byte Read of the model number
    expected = proto.ping(3) + proto.read(3, model_reg.address, 2)
    assert bytes(peer.received) == expected

    peer.received.clear()
    pos = sts.registers["present_position"]
    raw, result, error = ph.read2ByteTxRx(port, 3, pos.address)
    assert result == scs.COMM_SUCCESS and error == 0
    assert ft.decode_value(raw.to_bytes(2, "little"), signed=True) == -300
    assert bytes(peer.received) == proto.read(3, pos.address, 2)

    peer.received.clear()
    goal = sts.registers["goal_position"]
    result, error = ph.write2ByteTxRx(port, 3, goal.address, 2048)
    assert result == scs.COMM_SUCCESS and error == 0
    assert bytes(peer.received) == proto.write(3, goal.address, ft.encode_value(2048, 2))


def test_sync_write_and_sync_read_bytes_match_sdk(sdk_port: Callable[..., tuple]) -> None:
    pos = MODELS["STS3215"].registers["present_position"]
    values = {1: 1000, 2: 2048, 3: 4000}

    def reply(pkt: ft.Packet) -> bytes:
        if pkt.inst == ft.Inst.SYNC_READ:
            ids = pkt.params[2:]
            return b"".join(ft.encode_status(i, 0, ft.encode_value(values[i], 2)) for i in ids)
        return b""  # Sync Write has no answer

    port, ph, peer = sdk_port(reply)
    proto = ft.FeetechProtocol()
    goal = MODELS["STS3215"].registers["goal_position"]
    sw = scs.GroupSyncWrite(port, ph, goal.address, 2)
    for i, v in values.items():
        assert sw.addParam(i, list(ft.encode_value(v, 2)))
    assert sw.txPacket() == scs.COMM_SUCCESS
    expected = proto.sync_write(goal.address, 2, [(i, ft.encode_value(v, 2))
                                                 for i, v in values.items()])
    deadline = threading.Event()
    for _ in range(50):
        if len(peer.received) >= len(expected):
            break
        deadline.wait(0.01)
    assert bytes(peer.received) == expected

    peer.received.clear()
    sr = scs.GroupSyncRead(port, ph, pos.address, 2)
    for i in values:
        assert sr.addParam(i)
    assert sr.txRxPacket() == scs.COMM_SUCCESS
    assert {i: sr.getData(i, pos.address, 2) for i in values} == values
    assert bytes(peer.received) == proto.sync_read(list(values), pos.address, 2)


def test_sdk_reads_our_error_byte(sdk_port: Callable[..., tuple]) -> None:
    overload_and_heat = (1 << 5) | (1 << 2)
    errors = iter([1 << 5, overload_and_heat])

    def reply(pkt: ft.Packet) -> bytes:
        return ft.encode_status(pkt.id, next(errors))

    port, ph, _ = sdk_port(reply)
    result, error = ph.write1ByteTxRx(port, 2, 40, 1)
    # the SDK names the first set bit only
    assert result == scs.COMM_SUCCESS and "overload" in ph.getRxPacketError(error).lower()
    result, error = ph.write1ByteTxRx(port, 2, 40, 1)
    assert result == scs.COMM_SUCCESS and error == overload_and_heat
    proto = ft.FeetechProtocol()
    assert proto.describe_error(overload_and_heat) == "overheating error, overload error"
    assert proto.hardware_alert(overload_and_heat) and not proto.hardware_alert(0)


def test_scs_big_endian_with_sdk(sdk_port: Callable[..., tuple]) -> None:
    scs_model = MODELS["SCS0009"]
    assert scs_model.byteorder == "big"
    reg = scs_model.registers["model_number"]

    def reply(pkt: ft.Packet) -> bytes:
        if pkt.inst == ft.Inst.READ and pkt.params[0] == reg.address:
            return ft.encode_status(pkt.id, 0, ft.encode_value(1284, 2, byteorder="big"))
        return ft.encode_status(pkt.id, 0)

    port, ph, peer = sdk_port(reply, end=1)
    model, result, error = ph.ping(port, 7)
    assert (model, result, error) == (1284, scs.COMM_SUCCESS, 0)
    peer.received.clear()
    goal = scs_model.registers["goal_position"]
    assert ph.write2ByteTxRx(port, 7, goal.address, 0x0201)[0] == scs.COMM_SUCCESS
    assert bytes(peer.received) == ft.FeetechProtocol().write(
        7, goal.address, ft.encode_value(0x0201, 2, byteorder="big"))
    assert bytes(peer.received)[6:8] == b"\x02\x01"


@pytest.mark.parametrize("value", [0, 1, -1, 300, -300, 32767, -32767])
def test_sign_magnitude_round_trip(value: int) -> None:
    for order in ("little", "big"):
        wire = ft.encode_value(value, 2, signed=True, byteorder=order)
        assert ft.decode_value(wire, signed=True, byteorder=order) == value
    assert ft.encode_value(-1, 2, signed=True) == b"\x01\x80"  # not two's complement FF FF
    assert ft.decode_value(b"\x2c\x81", signed=True) == -300


def test_sign_magnitude_out_of_range() -> None:
    with pytest.raises(ValueError, match="sign-magnitude"):
        ft.encode_value(-32768, 2, signed=True)


def test_decoder_resyncs_on_noise_split_reads_and_bad_checksum() -> None:
    good = ft.encode_status(4, 0, b"\x10\x20")
    bad = bytearray(ft.encode_status(5, 0, b"\x01"))
    bad[-1] ^= 0xFF
    stream = b"\x00\x13\xff" + bytes(bad) + good
    dec = ft.FeetechDecoder(status=True)
    out = []
    for i in range(len(stream)):  # one byte at a time: every split point
        out += dec.feed(stream[i:i + 1])
    assert [(p.id, p.params, p.error) for p in out] == [(4, b"\x10\x20", 0)]
    assert dec.stats.checksum_errors == 1


def test_instruction_decoder_reads_sync_write() -> None:
    proto = ft.FeetechProtocol()
    pkt = proto.sync_write(42, 2, [(1, b"\x00\x08"), (2, b"\xff\x0f")])
    (got,) = ft.FeetechDecoder(status=False).feed(pkt)
    assert (got.id, got.inst, got.error) == (ft.BROADCAST_ID, ft.Inst.SYNC_WRITE, None)
    assert got.params == bytes((42, 2, 1, 0x00, 0x08, 2, 0xFF, 0x0F))
