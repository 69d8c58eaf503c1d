"""Servo-bus benchmark: one group read + one group write per control cycle over a pty, our
bus vs the vendor's SDK doing the same exchange, for 1, 6 and 12 servos.

    python bench/servo_bus.py [--cycles 2000] [--servos 1 6 12] [--bauds 1000000 4000000]

The emulator (``ServoChain`` over an ``IdealPlant``, lock-step) runs in a forked process so
the client's timing does not share the server's GIL. Per cycle it reports the client's host
CPU time (``time.process_time``) and wall round trip (p50/p99), and the wire time the packet
sizes imply at each baud rate (10 bits per byte, return delay 0, no USB latency): a pty moves
bytes at memory speed, so the wire column is what a real bus adds. Rows come from the
``CLIENTS`` table: a vendor adds its (protocol, client) entries there.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import numpy as np

from firmware_bridge import DeviceServer, IdealPlant, JointCommand
from firmware_bridge.servo.bus import ServoBus
from firmware_bridge.servo.calibration import Calibration
from firmware_bridge.servo.dynamixel import DynamixelProtocol
from firmware_bridge.servo.feetech import FeetechProtocol
from firmware_bridge.servo.models import chain_class, resolve_models
from firmware_bridge.transports import PtyTransport

Cycle = Callable[[], None]
RETRIES: dict[tuple[str, str], int] = {}
"""(protocol, client) -> group reads retried after a failed exchange (shown per row)."""


def _cal(models: list) -> Calibration:  # type: ignore[type-arg]
    n = len(models)
    return Calibration.build(models, [0.0] * n, [1] * n, [1.0] * n)


def serve(protocol: str, n: int, conn: Connection) -> None:
    models = resolve_models(protocol, [""] * n)
    chain = chain_class(protocol)(IdealPlant(n, control_period_s=0.002),
                                  list(range(1, n + 1)), models, _cal(models), [True] * n)
    server = DeviceServer(chain, PtyTransport(), mode="lockstep")  # type: ignore[arg-type]
    conn.send(server.url)
    server.start()
    conn.recv()
    server.close()


# --- clients: each returns (one cycle, bytes written per cycle, bytes read per cycle, close) --
def dynamixel_ours(url: str, n: int) -> tuple[Cycle, int, int, Callable[[], object]]:
    return _dynamixel_ours(url, n, fast=True)


def dynamixel_ours_sync(url: str, n: int) -> tuple[Cycle, int, int, Callable[[], object]]:
    """Our bus with Fast Sync Read turned off (what it does on firmware older than 45)."""
    return _dynamixel_ours(url, n, fast=False)


def _dynamixel_ours(url: str, n: int, fast: bool) -> tuple[Cycle, int, int,
                                                            Callable[[], object]]:
    models = resolve_models("dynamixel", [""] * n)
    bus = ServoBus(url, DynamixelProtocol(), list(range(1, n + 1)), models, _cal(models),
                   [True] * n, "current", timeout_s=1.0, watchdog_s=0.0)
    bus.connect()
    bus._fast = fast  # the emulator's firmware (52) has Fast Sync Read: off only if asked
    bus.enable()
    cmd = JointCommand.pd(np.zeros(n), 0.0, 0.0, tau=np.full(n, 0.1))
    b0, r0 = bus.counts["bytes_out"], bus.stats()["bytes_in"]
    bus.send_command(cmd)
    w, r = bus.counts["bytes_out"] - b0, int(bus.stats()["bytes_in"] - r0)
    return (lambda: bus.send_command(cmd) and None), w, r, bus.close


def dynamixel_sdk(url: str, n: int) -> tuple[Cycle, int, int, Callable[[], object]]:
    return _dynamixel_sdk(url, n, fast=False)


def dynamixel_sdk_fast(url: str, n: int) -> tuple[Cycle, int, int, Callable[[], object]]:
    return _dynamixel_sdk(url, n, fast=True)


def _dynamixel_sdk(url: str, n: int, fast: bool) -> tuple[Cycle, int, int,
                                                           Callable[[], object]]:
    import dynamixel_sdk as sdk

    port = sdk.PortHandler(url)
    port.openPort()
    port.setBaudRate(1_000_000)
    ph = sdk.PacketHandler(2.0)
    ids = list(range(1, n + 1))
    for i in ids:
        ph.write1ByteTxRx(port, i, 64, 0)
        ph.write1ByteTxRx(port, i, 11, 0)  # current mode
        ph.write1ByteTxRx(port, i, 64, 1)
    sw = sdk.GroupSyncWrite(port, ph, 102, 2)
    sr = sdk.GroupSyncRead(port, ph, 126, 10)
    for i in ids:
        sw.addParam(i, [27, 0])
        sr.addParam(i)

    def cycle() -> None:
        sw.txPacket()
        # the SDK's packet timeout assumes a 16 ms latency timer, yet a loaded host can
        # still miss it: retry (as LeRobot does) and count, rather than end the benchmark
        for _ in range(3):
            if (sr.fastSyncRead() if fast else sr.txRxPacket()) == sdk.COMM_SUCCESS:
                break
            key = ("dynamixel", "sdk-fast" if fast else "sdk")
            RETRIES[key] = RETRIES.get(key, 0) + 1
        else:
            raise RuntimeError("SDK sync read failed 3 times in a row")
        for i in ids:
            sr.getData(i, 132, 4)
            sr.getData(i, 128, 4)
            sr.getData(i, 126, 2)

    # packet overhead 10 (header 4, id, len 2, inst, crc 2); status 11 (+ error byte)
    write = 10 + 4 + n * 3  # addr + len, then (id + 2 goal bytes) per servo
    # the request, then one 10-byte status each, or (fast) one status: ERR ID DATA CRC each,
    # less the last CRC (the packet's)
    read = (10 + 4 + n) + (11 - 1 + n * 14 - 2 if fast else n * (11 + 10))
    return cycle, write, read, port.closePort


def feetech_ours(url: str, n: int) -> tuple[Cycle, int, int, Callable[[], object]]:
    models = resolve_models("feetech", [""] * n)
    bus = ServoBus(url, FeetechProtocol(), list(range(1, n + 1)), models, _cal(models),
                   [True] * n, "position", kp=[10.0] * n, kd=[1.5] * n, timeout_s=1.0,
                   watchdog_s=0.0)
    bus.connect()
    bus.enable()
    cmd = JointCommand.pd(np.full(n, 0.1), 10.0, 1.5)
    b0, r0 = bus.counts["bytes_out"], bus.stats()["bytes_in"]
    bus.send_command(cmd)
    w, r = bus.counts["bytes_out"] - b0, int(bus.stats()["bytes_in"] - r0)
    return (lambda: bus.send_command(cmd) and None), w, r, bus.close


def feetech_sdk(url: str, n: int) -> tuple[Cycle, int, int, Callable[[], object]]:
    import scservo_sdk as sdk

    port = sdk.PortHandler(url)
    port.openPort()
    port.setBaudRate(1_000_000)
    ph = sdk.PacketHandler(0)  # STS: little-endian
    ids = list(range(1, n + 1))
    for i in ids:
        ph.write1ByteTxRx(port, i, 40, 1)  # torque on (position mode is the default)
    sw = sdk.GroupSyncWrite(port, ph, 42, 2)  # Goal Position
    sr = sdk.GroupSyncRead(port, ph, 56, 6)  # Present Position, Speed, Load
    for i in ids:
        sw.addParam(i, [0x10, 0x08])
        sr.addParam(i)

    def cycle() -> None:
        sw.txPacket()
        # retries as LeRobot's Feetech bus does: on a loaded machine the SDK's fixed 34 ms
        # answer budget ("There is no status packet!") is missed now and then
        for _ in range(3):
            result = sr.txRxPacket()
            if result == sdk.COMM_SUCCESS:
                break
        else:
            raise RuntimeError(f"SDK sync read failed: {ph.getTxRxResult(result)}")
        for i in ids:
            sr.getData(i, 56, 2)
            sr.getData(i, 58, 2)
            sr.getData(i, 60, 2)

    # packet overhead 6 (header 2, id, len, inst or error, checksum)
    write = 6 + 2 + n * 3  # addr + len, then (id + 2 goal bytes) per servo
    read = (6 + 2 + n) + n * (6 + 6)  # the sync read request + one 6-byte status each
    return cycle, write, read, port.closePort


CLIENTS: dict[tuple[str, str], Callable[[str, int], tuple[Cycle, int, int,
                                                          Callable[[], object]]]] = {
    ("dynamixel", "ours"): dynamixel_ours,
    ("dynamixel", "sdk-fast"): dynamixel_sdk_fast,
    ("dynamixel", "ours-sync"): dynamixel_ours_sync,
    ("dynamixel", "sdk"): dynamixel_sdk,
    ("feetech", "ours"): feetech_ours,
    ("feetech", "sdk"): feetech_sdk,
}
"""(protocol, client) -> a factory of one control cycle (group write + group read)."""


def run(protocol: str, client: str, n: int, cycles: int) -> dict[str, float]:
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=serve, args=(protocol, n, child), daemon=True)
    proc.start()
    url = parent.recv()
    try:
        cycle, w, r, close = CLIENTS[(protocol, client)](url, n)
        for _ in range(50):
            cycle()
        wall = np.empty(cycles)
        cpu0 = time.process_time()
        for k in range(cycles):
            t0 = time.perf_counter()
            cycle()
            wall[k] = time.perf_counter() - t0
        cpu = (time.process_time() - cpu0) / cycles
        close()
    finally:
        parent.send("stop")
        proc.join(5)
    return {"cpu_us": cpu * 1e6, "p50_us": float(np.percentile(wall, 50)) * 1e6,
            "p99_us": float(np.percentile(wall, 99)) * 1e6, "bytes": float(w + r)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=2000)
    ap.add_argument("--servos", type=int, nargs="+", default=[1, 6, 12])
    ap.add_argument("--bauds", type=int, nargs="+", default=[1_000_000, 4_000_000])
    ap.add_argument("--protocols", nargs="+", default=sorted({p for p, _ in CLIENTS}))
    args = ap.parse_args()
    wire_cols = "  ".join(f"wire@{b / 1e6:g}M_us" for b in args.bauds)
    print(f"{'protocol':<10} {'client':<9} {'servos':>6} {'cpu_us':>8} {'rtt_p50_us':>10} "
          f"{'rtt_p99_us':>10} {'retries':>7} {'bytes':>6}  {wire_cols}")
    for protocol in args.protocols:
        for n in args.servos:
            for (p, client) in CLIENTS:
                if p != protocol:
                    continue
                RETRIES.clear()
                s = run(protocol, client, n, args.cycles)
                wire = "  ".join(f"{s['bytes'] * 10 / b * 1e6:>12.0f}" for b in args.bauds)
                print(f"{protocol:<10} {client:<9} {n:>6} {s['cpu_us']:>8.0f} "
                      f"{s['p50_us']:>10.0f} {s['p99_us']:>10.0f} "
                      f"{RETRIES.get((protocol, client), 0):>7} {s['bytes']:>6.0f}  {wire}",
                      flush=True)


if __name__ == "__main__":
    main()
