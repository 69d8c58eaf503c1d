"""Dynamixel Protocol 2.0 packets: CRC-16, byte stuffing, instruction and status packets.

Written from the ROBOTIS e-manual's description of Protocol 2.0 (no code copied):

    instruction: FF FF FD 00 | ID | LEN_L LEN_H | INST | params | CRC_L CRC_H
    status:      FF FF FD 00 | ID | LEN_L LEN_H | 55 | ERR | params | CRC_L CRC_H

LEN counts everything after itself (INST [+ ERR] + stuffed params + CRC). The CRC
(poly 0x8005, init 0, MSB first, no reflection) covers header to last parameter *after*
stuffing; stuffing inserts FD after every FF FF FD inside INST..params. Both the host bus
and the emulator use this module, so one decoder resynchronises both sides the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "BROADCAST_ID",
    "ERROR_BITS",
    "HEADER",
    "DynamixelDecoder",
    "DynamixelProtocol",
    "Inst",
    "Packet",
    "crc16",
    "encode_instruction",
    "encode_status",
    "stuff",
    "unstuff",
]

HEADER = b"\xff\xff\xfd\x00"
BROADCAST_ID = 0xFE
STATUS = 0x55
MAX_LEN = 4096  # longest LEN field accepted; anything longer is noise, not a packet


class Inst:
    """Instruction bytes (e-manual, Protocol 2.0 "Instruction")."""

    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    FACTORY_RESET = 0x06
    REBOOT = 0x08
    CLEAR = 0x10
    STATUS = 0x55
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83
    FAST_SYNC_READ = 0x8A
    BULK_READ = 0x92
    BULK_WRITE = 0x93
    FAST_BULK_READ = 0x9A


ERROR_BITS = {1: "result fail", 2: "instruction error", 3: "CRC error", 4: "data range error",
              5: "data length error", 6: "data limit error", 7: "access error"}
"""Low 7 bits of the status error byte (a number, not a bit field); bit 7 = hardware alert."""
HARDWARE_ALERT = 0x80


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x8005) if c & 0x8000 else (c << 1)
        table.append(c & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-16/BUYPASS as Protocol 2.0 uses it (check value of b"123456789": 0xFEE8)."""
    t = _CRC_TABLE
    for b in data:
        crc = ((crc << 8) ^ t[((crc >> 8) ^ b) & 0xFF]) & 0xFFFF
    return crc


def stuff(body: bytes) -> bytes:
    """Insert FD after every FF FF FD so the body cannot contain a header."""
    if b"\xff\xff\xfd" not in body:
        return body
    return body.replace(b"\xff\xff\xfd", b"\xff\xff\xfd\xfd")


def unstuff(body: bytes) -> bytes:
    """Undo ``stuff``."""
    if b"\xff\xff\xfd\xfd" not in body:
        return body
    return body.replace(b"\xff\xff\xfd\xfd", b"\xff\xff\xfd")


def _packet(dxl_id: int, body: bytes) -> bytes:
    body = stuff(body)
    n = len(body) + 2
    head = HEADER + bytes((dxl_id & 0xFF, n & 0xFF, n >> 8))
    crc = crc16(body, crc16(head))
    return head + body + bytes((crc & 0xFF, crc >> 8))


def encode_instruction(dxl_id: int, inst: int, params: bytes = b"") -> bytes:
    """One instruction packet, stuffed and with its CRC."""
    return _packet(dxl_id, bytes((inst,)) + params)


def encode_status(dxl_id: int, error: int, params: bytes = b"") -> bytes:
    """One status packet (INST 0x55, then the error byte)."""
    return _packet(dxl_id, bytes((STATUS, error & 0xFF)) + params)


@dataclass
class Packet:
    """A decoded packet. ``error`` is None for instruction packets."""

    id: int
    inst: int
    params: bytes
    error: int | None = None

    @property
    def is_status(self) -> bool:
        return self.inst == STATUS


@dataclass
class DecoderStats:
    packets: int = 0
    crc_errors: int = 0
    length_errors: int = 0
    bytes_in: int = 0
    resyncs: int = 0
    frames_bad: int = field(default=0)  # crc + length errors (DeviceServer's counter name)


class DynamixelDecoder:
    """Byte stream -> packets. Bytes before a header are skipped; a packet with a bad CRC is
    counted and dropped, and the search restarts one byte after its header."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.stats = DecoderStats()

    def reset(self) -> None:
        self._buf.clear()

    def feed(self, data: bytes) -> list[Packet]:
        self.stats.bytes_in += len(data)
        buf = self._buf
        buf += data
        out: list[Packet] = []
        while True:
            start = buf.find(HEADER)
            if start < 0:
                keep = 3 if len(buf) >= 3 else len(buf)  # a header may straddle two reads
                if len(buf) > keep:
                    self.stats.resyncs += 1
                    del buf[:-keep]
                return out
            if start:
                self.stats.resyncs += 1
                del buf[:start]
            if len(buf) < 7:
                return out
            n = buf[5] | (buf[6] << 8)
            if n < 3 or n > MAX_LEN:
                self.stats.length_errors += 1
                self.stats.frames_bad += 1
                del buf[:1]
                continue
            if len(buf) < 7 + n:
                return out
            raw = bytes(buf[:7 + n])
            crc = raw[-2] | (raw[-1] << 8)
            if crc16(raw[:-2]) != crc:
                self.stats.crc_errors += 1
                self.stats.frames_bad += 1
                del buf[:1]
                continue
            del buf[:7 + n]
            body = unstuff(raw[7:-2])
            self.stats.packets += 1
            if body[0] == STATUS:
                if len(body) < 2:
                    self.stats.length_errors += 1
                    continue
                out.append(Packet(raw[4], STATUS, body[2:], body[1]))
            else:
                out.append(Packet(raw[4], body[0], body[1:]))


def _u16(v: int) -> bytes:
    return bytes((v & 0xFF, (v >> 8) & 0xFF))


class DynamixelProtocol:
    """The host bus's view of Protocol 2.0 (``firmware_bridge.servo.protocol.PacketProtocol``)."""

    name = "dynamixel"
    broadcast_id = BROADCAST_ID
    byteorder = "little"
    has_sync_read_status_per_servo = True

    def decoder(self) -> DynamixelDecoder:
        return DynamixelDecoder()

    def ping(self, servo_id: int) -> bytes:
        return encode_instruction(servo_id, Inst.PING)

    def read(self, servo_id: int, address: int, size: int) -> bytes:
        return encode_instruction(servo_id, Inst.READ, _u16(address) + _u16(size))

    def write(self, servo_id: int, address: int, data: bytes) -> bytes:
        return encode_instruction(servo_id, Inst.WRITE, _u16(address) + data)

    def reboot(self, servo_id: int) -> bytes:
        return encode_instruction(servo_id, Inst.REBOOT)

    def sync_read(self, ids: Sequence[int], address: int, size: int) -> bytes:
        return encode_instruction(BROADCAST_ID, Inst.SYNC_READ,
                                  _u16(address) + _u16(size) + bytes(ids))

    def fast_sync_read(self, ids: Sequence[int], address: int, size: int) -> bytes:
        """Fast Sync Read (firmware 45+): all servos answer in ONE status packet."""
        return encode_instruction(BROADCAST_ID, Inst.FAST_SYNC_READ,
                                  _u16(address) + _u16(size) + bytes(ids))

    def split_fast_status(self, p: Packet, size: int) -> dict[int, Packet]:
        """The per-servo parts of a Fast Sync Read status (e-manual layout): after INST 0x55,
        ERR1 ID1 DATA1 CRC1 ERR2 ID2 DATA2 CRC2 ... ERRn IDn DATAn, the packet's CRC last
        (ERR1 sits in the packet's error field). Raises ValueError on a length mismatch."""
        prm, out = p.params, {}
        err = p.error or 0
        k = 0
        while True:
            if k + 1 + size > len(prm):
                raise ValueError(f"fast sync read status of {len(prm)} bytes is truncated")
            sid = prm[k]
            out[sid] = Packet(sid, STATUS, bytes(prm[k + 1:k + 1 + size]), err)
            k += 1 + size
            if k == len(prm):
                return out
            if k + 3 > len(prm):
                raise ValueError("fast sync read status has a partial servo record")
            err = prm[k + 2]
            k += 3  # this servo's CRC (2 bytes), then the next error byte

    def sync_write(self, address: int, size: int, items: Iterable[tuple[int, bytes]]) -> bytes:
        params = bytearray(_u16(address) + _u16(size))
        for servo_id, data in items:
            params.append(servo_id)
            params += data
        return encode_instruction(BROADCAST_ID, Inst.SYNC_WRITE, bytes(params))

    def describe_error(self, error: int) -> str:
        """The error byte in words ('' for 0)."""
        parts = []
        if error & HARDWARE_ALERT:
            parts.append("hardware alert")
        low = error & 0x7F
        if low:
            parts.append(ERROR_BITS.get(low, f"error {low}"))
        return ", ".join(parts)

    def hardware_alert(self, error: int) -> bool:
        return bool(error & HARDWARE_ALERT)

    def range_error(self, error: int) -> bool:
        return (error & 0x7F) == 4
