"""Serial-link benchmark: command/state round trips over a pty against the virtual controller.

    python bench/serial_link.py [--exchanges 5000] [--joints 1 7 12] [--no-imu]

The virtual controller (IdealPlant, lockstep: one plant step per COMMAND) runs in a separate
process so the host's timing is not shared with the server's GIL. Reports round-trip latency
percentiles, exchanges/s and frames/s (2 frames per exchange), wire efficiency (payload bytes /
wire bytes, command + state) and the line-rate bound on the loop rate at 1 and 3 Mbaud.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from multiprocessing.connection import Connection

import numpy as np

from firmware_bridge import Device, DeviceConfig, DeviceServer, IdealPlant, JointCommand, MotorBus
from firmware_bridge.cobs import max_encoded_len
from firmware_bridge.layouts import FRAME_OVERHEAD, command_payload_size, state_payload_size
from firmware_bridge.transports import PtyTransport


def serve(n: int, imu: bool, conn: Connection) -> None:
    plant = IdealPlant(n, control_period_s=0.001, with_imu=imu)
    server = DeviceServer(Device(DeviceConfig(n, watchdog_s=1.0), plant), PtyTransport())
    conn.send(server.url)
    server.start()
    conn.recv()  # wait for "stop"
    server.close()


def wire_bytes(payload: int) -> int:
    """Worst-case bytes on the wire for a payload: header + CRC, COBS, delimiter."""
    return max_encoded_len(payload + FRAME_OVERHEAD) + 1


def run(n: int, exchanges: int, imu: bool) -> dict[str, float]:
    parent, child = mp.Pipe()
    proc = mp.get_context("fork").Process(target=serve, args=(n, imu, child), daemon=True)
    proc.start()
    url = parent.recv()
    rng = np.random.default_rng(0)
    try:
        with MotorBus(url, n, timeout_s=1.0, latency_window=exchanges) as bus:
            bus.enable()
            cmd = JointCommand.pd(rng.uniform(-0.5, 0.5, n), kp=5.0, kd=0.2)
            for _ in range(200):  # warm-up
                bus.send_command(cmd)
            bus._lat_n = 0
            t0 = time.perf_counter()
            for _ in range(exchanges):
                cmd.q[:] = rng.uniform(-0.5, 0.5, n)
                bus.send_command(cmd)
            wall = time.perf_counter() - t0
            st = bus.stats()
    finally:
        parent.send("stop")
        proc.join(5)
    cmd_p, state_p = command_payload_size(n), state_payload_size(n, imu)
    cycle = wire_bytes(cmd_p) + wire_bytes(state_p)
    return {
        "joints": n,
        "p50_us": st["latency_p50_s"] * 1e6,
        "p99_us": st["latency_p99_s"] * 1e6,
        "max_us": st["latency_max_s"] * 1e6,
        "exchanges_s": exchanges / wall,
        "frames_s": 2 * exchanges / wall,
        "efficiency": (cmd_p + state_p) / cycle,
        "cycle_bytes": cycle,
        "hz_1M": 100_000 / cycle,  # 1 Mbaud 8N1 = 100,000 bytes/s
        "hz_3M": 300_000 / cycle,
        "bad": st["frames_bad"] + st["timeouts"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--exchanges", type=int, default=5000, help="timed round trips per size")
    ap.add_argument("--joints", type=int, nargs="+", default=[1, 7, 12])
    ap.add_argument("--no-imu", action="store_true", help="STATE without the 40-byte IMU block")
    args = ap.parse_args()
    print(
        "| joints | p50 µs | p99 µs | max µs | exchanges/s | frames/s | wire bytes/cycle "
        "| efficiency | line bound 1 Mbaud | 3 Mbaud | errors |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.joints:
        r = run(n, args.exchanges, not args.no_imu)
        print(
            f"| {n} | {r['p50_us']:.0f} | {r['p99_us']:.0f} | {r['max_us']:.0f} "
            f"| {r['exchanges_s']:.0f} | {r['frames_s']:.0f} | {r['cycle_bytes']} "
            f"| {r['efficiency']:.1%} | {r['hz_1M']:.0f} Hz | {r['hz_3M']:.0f} Hz "
            f"| {r['bad']:.0f} |"
        )


if __name__ == "__main__":
    main()
