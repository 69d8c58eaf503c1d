"""Feetech STS/SMS and SCS packets: checksum, instruction and status packets, values.

Written from Feetech's protocol description (the Dynamixel 1.0 packet format; no code copied):

    instruction: FF FF | ID | LEN | INST | params | CHK
    status:      FF FF | ID | LEN | ERR  | params | CHK

LEN = len(params) + 2; CHK = ~(ID + LEN + INST/ERR + Σ params) & 0xFF. No byte stuffing and no
CRC: a header inside the data is possible, so the decoder checks the checksum and, on a bad
one, restarts its search one byte after the false header. Instructions: Ping 01, Read 02,
Write 03, Reg Write 04, Action 05, Sync Read 82 (each servo answers with its own status packet,
in ID order), Sync Write 83 (no answer). The status error byte is a bit field (bit 0 voltage,
1 angle sensor, 2 overheating, 3 overcurrent, 5 overload); every set bit is a hardware fault.

Register values: STS/SMS little-endian, SCS big-endian; signed values sign-magnitude (the
sign in bit 15 of a 2-byte register), not two's complement. ``encode_value``/``decode_value``
do both for the bus and the emulator.

Why our own codec and not ``scservo_sdk``: the PyPI package is an unofficial upload whose
packet timeout ignores the caller's budget (LeRobot patches ``setPacketTimeout``), it keeps the
byte order in a module-wide global (an STS and an SCS bus cannot share a process) and it
polls the port byte-wise under a busy flag; the bus needs one non-blocking decoder shared with
the emulator and a deadline it owns. The SDK is kept as the independent test peer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "BROADCAST_ID",
    "ERROR_BITS",
    "HEADER",
    "FeetechDecoder",
    "FeetechProtocol",
    "Inst",
    "Packet",
    "checksum",
    "decode_value",
    "encode_instruction",
    "encode_status",
    "encode_value",
]

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
MAX_ID = 0xFD
"""The largest ID a status packet may carry (0xFE is broadcast, 0xFF is header)."""


class Inst:
    """Instruction bytes (Feetech protocol manual)."""

    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83


ERROR_BITS = {0: "voltage error", 1: "angle sensor error", 2: "overheating error",
              3: "overcurrent error", 5: "overload error"}
"""Status error byte, bit -> name. Unlisted bits (4, 6) are reported by number."""
STATUS_INST = -1
"""``Packet.inst`` of a status packet (Feetech status packets carry no instruction byte)."""


def checksum(body: bytes | bytearray) -> int:
    """~(ID + LEN + INST/ERR + params) & 0xFF over ``body`` = ID..last parameter."""
    return ~sum(body) & 0xFF


def _packet(servo_id: int, first: int, params: bytes) -> bytes:
    if len(params) > 253:
        raise ValueError(f"Feetech packet parameters are at most 253 bytes, got {len(params)}")
    body = bytes((servo_id & 0xFF, len(params) + 2, first & 0xFF)) + params
    return HEADER + body + bytes((checksum(body),))


def encode_instruction(servo_id: int, inst: int, params: bytes = b"") -> bytes:
    """One instruction packet with its checksum."""
    return _packet(servo_id, inst, params)


def encode_status(servo_id: int, error: int, params: bytes = b"") -> bytes:
    """One status packet: the error byte, then the data."""
    return _packet(servo_id, error, params)


def encode_value(value: int, size: int, signed: bool = False, sign_bit: int | None = 15,
                 byteorder: str = "little") -> bytes:
    """A register value on the wire. Signed values are sign-magnitude with the sign in
    ``sign_bit`` (None: two's complement); out-of-range values raise ValueError."""
    if signed and sign_bit is not None:
        mag = abs(value)
        if mag >= 1 << sign_bit:
            raise ValueError(f"{value} does not fit sign-magnitude bit {sign_bit}")
        raw = mag | ((1 << sign_bit) if value < 0 else 0)
        return raw.to_bytes(size, byteorder)  # type: ignore[arg-type]
    return value.to_bytes(size, byteorder, signed=signed)  # type: ignore[arg-type]


def decode_value(data: bytes, signed: bool = False, sign_bit: int | None = 15,
                 byteorder: str = "little") -> int:
    """Inverse of ``encode_value``."""
    raw = int.from_bytes(data, byteorder)  # type: ignore[arg-type]
    if signed and sign_bit is not None:
        mag = raw & ((1 << sign_bit) - 1)
        return -mag if raw >> sign_bit & 1 else mag
    return int.from_bytes(data, byteorder, signed=signed)  # type: ignore[arg-type]


@dataclass
class Packet:
    """A decoded packet: ``error`` is None for an instruction, the error byte for a status
    (whose ``inst`` is ``STATUS_INST``)."""

    id: int
    inst: int
    params: bytes
    error: int | None = None

    @property
    def is_status(self) -> bool:
        return self.error is not None


@dataclass
class DecoderStats:
    packets: int = 0
    checksum_errors: int = 0
    length_errors: int = 0
    bytes_in: int = 0
    resyncs: int = 0
    frames_bad: int = 0
    """checksum + length errors (the device server's counter name)."""

    @property
    def crc_errors(self) -> int:
        """The generic bus's name for a failed integrity check."""
        return self.checksum_errors


class FeetechDecoder:
    """Byte stream -> packets, for one direction: ``status=True`` on the host (status
    packets), False in the emulator (instructions). The two look alike on the wire, so the
    direction decides what the byte after LEN means. A bad checksum or an impossible LEN or
    ID is counted and the search restarts one byte on."""

    def __init__(self, status: bool = True) -> None:
        self.status = status
        self._buf = bytearray()
        self.stats = DecoderStats()

    def reset(self) -> None:
        self._buf.clear()

    def _bad(self, kind: str) -> None:
        if kind == "length":
            self.stats.length_errors += 1
        else:
            self.stats.checksum_errors += 1
        self.stats.frames_bad += 1
        del self._buf[:1]

    def feed(self, data: bytes) -> list[Packet]:
        self.stats.bytes_in += len(data)
        buf = self._buf
        buf += data
        out: list[Packet] = []
        while True:
            start = buf.find(HEADER)
            if start < 0:
                keep = 1 if buf and buf[-1] == 0xFF else 0  # a header may straddle two reads
                if len(buf) > keep:
                    self.stats.resyncs += 1
                    del buf[:len(buf) - keep]
                return out
            # FF FF FF ID ...: the header is the last two FFs (an ID is never FF)
            while start + 2 < len(buf) and buf[start + 2] == 0xFF:
                start += 1
            if start:
                self.stats.resyncs += 1
                del buf[:start]
            if len(buf) < 4:
                return out
            sid, n = buf[2], buf[3]
            if n < 2 or (self.status and sid > MAX_ID):
                self._bad("length")
                continue
            if len(buf) < 4 + n:
                return out
            if checksum(buf[2:3 + n]) != buf[3 + n]:
                self._bad("checksum")
                continue
            first, params = buf[4], bytes(buf[5:3 + n])
            del buf[:4 + n]
            self.stats.packets += 1
            if self.status:
                out.append(Packet(sid, STATUS_INST, params, first))
            else:
                out.append(Packet(sid, first, params))


class FeetechProtocol:
    """The host bus's view of the Feetech protocol (``firmware_bridge.servo.protocol``).
    Addresses and lengths are single bytes, so the packets do not depend on the model's byte
    order; register values do (``encode_value`` with the model's ``byteorder``)."""

    name = "feetech"
    broadcast_id = BROADCAST_ID
    has_sync_read_status_per_servo = True

    def decoder(self) -> FeetechDecoder:
        return FeetechDecoder(status=True)

    def instruction_decoder(self) -> FeetechDecoder:
        """The emulator's side of the wire."""
        return FeetechDecoder(status=False)

    def ping(self, servo_id: int) -> bytes:
        return encode_instruction(servo_id, Inst.PING)

    def read(self, servo_id: int, address: int, size: int) -> bytes:
        return encode_instruction(servo_id, Inst.READ, bytes((address, size)))

    def write(self, servo_id: int, address: int, data: bytes) -> bytes:
        return encode_instruction(servo_id, Inst.WRITE, bytes((address,)) + data)

    def reboot(self, servo_id: int) -> bytes:
        raise NotImplementedError(
            f"Feetech servos have no reboot instruction: power-cycle servo {servo_id} to clear "
            "a hardware error")

    def sync_read(self, ids: Sequence[int], address: int, size: int) -> bytes:
        return encode_instruction(BROADCAST_ID, Inst.SYNC_READ,
                                  bytes((address, size)) + bytes(ids))

    def sync_write(self, address: int, size: int, items: Iterable[tuple[int, bytes]]) -> bytes:
        params = bytearray((address, size))
        for servo_id, data in items:
            if len(data) != size:
                raise ValueError(f"sync write to servo {servo_id}: {len(data)} bytes, "
                                 f"expected {size}")
            params.append(servo_id)
            params += data
        return encode_instruction(BROADCAST_ID, Inst.SYNC_WRITE, bytes(params))

    def describe_error(self, error: int) -> str:
        """The error byte in words ('' for 0)."""
        return ", ".join(ERROR_BITS.get(b, f"error bit {b}") for b in range(8) if error >> b & 1)

    def hardware_alert(self, error: int) -> bool:
        """Every Feetech status error bit is a hardware condition (no command errors)."""
        return error != 0

    def range_error(self, error: int) -> bool:
        """Feetech reports no range error: an out-of-range goal is clamped by the servo."""
        return False
