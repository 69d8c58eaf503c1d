"""Protocol 2.0 packets byte for byte against the ROBOTIS e-manual's examples.

Source: ROBOTIS e-manual, "DYNAMIXEL Protocol 2.0", sections Ping / Read / Write (examples
for ID 1 of an XM-series servo) and "CRC calculation"; each CRC below is also recomputed with
the spec'd algorithm (poly 0x8005, init 0) in ``test_crc16``.
"""

from __future__ import annotations

import pytest

from firmware_bridge.servo.dynamixel import (
    DynamixelDecoder,
    DynamixelProtocol,
    Inst,
    crc16,
    encode_instruction,
    encode_status,
    stuff,
    unstuff,
)

PING_1 = "FF FF FD 00 01 03 00 01 19 4E"
PING_1_STATUS = "FF FF FD 00 01 07 00 55 00 06 04 26 65 5D"  # model 1030, firmware 0x26
READ_POS_1 = "FF FF FD 00 01 07 00 02 84 00 04 00 1D 15"  # Present Position 132, 4 bytes
WRITE_GOAL_512 = "FF FF FD 00 01 09 00 03 74 00 00 02 00 00 CA 89"  # Goal Position 116 = 512


def _hex(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


def test_crc16_check_value() -> None:
    assert crc16(b"123456789") == 0xFEE8


@pytest.mark.parametrize("packet", [PING_1, PING_1_STATUS, READ_POS_1, WRITE_GOAL_512])
def test_crc16(packet: str) -> None:
    raw = _hex(packet)
    assert crc16(raw[:-2]) == raw[-2] | raw[-1] << 8


def test_encode_matches_manual() -> None:
    p = DynamixelProtocol()
    assert p.ping(1) == _hex(PING_1)
    assert p.read(1, 132, 4) == _hex(READ_POS_1)
    assert p.write(1, 116, (512).to_bytes(4, "little")) == _hex(WRITE_GOAL_512)
    assert encode_status(1, 0, bytes((0x06, 0x04, 0x26))) == _hex(PING_1_STATUS)


def test_decode_status_and_instruction() -> None:
    d = DynamixelDecoder()
    # noise before, and a packet split across two reads
    wire = b"\x00\x12" + _hex(PING_1_STATUS) + _hex(WRITE_GOAL_512)
    out = d.feed(wire[:9]) + d.feed(wire[9:])
    assert [(p.id, p.inst, p.error, p.params) for p in out] == [
        (1, 0x55, 0, bytes((6, 4, 0x26))),
        (1, Inst.WRITE, None, bytes((0x74, 0, 0, 2, 0, 0)))]


def test_bad_crc_is_counted_and_dropped() -> None:
    d = DynamixelDecoder()
    bad = bytearray(_hex(PING_1_STATUS))
    bad[-3] ^= 0x01
    out = d.feed(bytes(bad) + _hex(PING_1_STATUS))
    assert len(out) == 1 and d.stats.crc_errors == 1


def test_byte_stuffing_round_trip() -> None:
    body = bytes((Inst.WRITE, 0x74, 0x00, 0xFF, 0xFF, 0xFD, 0x00))
    assert stuff(body) == bytes((Inst.WRITE, 0x74, 0x00, 0xFF, 0xFF, 0xFD, 0xFD, 0x00))
    assert unstuff(stuff(body)) == body
    wire = encode_instruction(1, Inst.WRITE, body[1:])
    assert b"\xff\xff\xfd\xfd" in wire[7:]  # stuffed on the wire, LEN counts the extra byte
    assert wire[5] == len(stuff(body)) + 2
    (p,) = DynamixelDecoder().feed(wire)
    assert p.params == body[1:]


def test_error_byte_in_words() -> None:
    p = DynamixelProtocol()
    assert p.describe_error(0x84) == "hardware alert, data range error"
    assert p.hardware_alert(0x80) and not p.hardware_alert(0x04)


def test_fast_sync_read_status_splits_per_servo() -> None:
    # layout from the e-manual's Fast Sync Read section: ERR1 (the status's own error
    # field), ID1 DATA1 CRC1, ERR2 ID2 DATA2, then the packet's CRC
    d1, d2 = (166).to_bytes(4, "little"), (2079).to_bytes(4, "little")
    c1 = crc16(bytes((3,)) + d1)
    params = bytes((3,)) + d1 + bytes((c1 & 0xFF, c1 >> 8)) + bytes((0x80, 7)) + d2
    (p,) = DynamixelDecoder().feed(encode_status(0xFE, 0, params))
    parts = DynamixelProtocol().split_fast_status(p, 4)
    assert {k: (v.params, v.error) for k, v in parts.items()} == {3: (d1, 0), 7: (d2, 0x80)}
    with pytest.raises(ValueError, match="truncated"):
        DynamixelProtocol().split_fast_status(p, 6)
