"""Control-loop timing against the virtual controller on a pty, at 200, 500 and 1000 Hz.

    python bench/control_loop.py [--rates 200,500,1000] [--duration 3] [--json out.json]

For each rate: start `robot-ppo serve --robot cartpole --port pty` (PyBullet plant, real
time, its own process), run an exported cartpole policy through `deploy.runtime.Runtime`
for `duration` seconds, and report the achieved rate, period jitter, deadline misses,
compute time and bus round trip from the runtime's own statistics, plus what the standby
check measured (the runtime refuses a rate whose p99 round trip + compute exceeds 80% of
the period; here the margin is lifted so every rate is measured, and the verdict the
default margin would give is reported).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deploy.export import export_policy, normalizer_samples, random_samples
from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.spec import load_spec


def make_policy(path: Path) -> Path:
    spec = load_spec("cartpole")
    torch.manual_seed(0)
    actor = ActorCritic(4, 1)
    actor.obs_normalizer.update(torch.randn(1000, 4) * 0.3)
    rng = np.random.default_rng(0)
    obs = np.concatenate([random_samples(4, 1000, rng), normalizer_samples(actor, 4, 500, rng)])
    out, _ = export_policy(actor.eval(), obs_dim=4, act_dim=1, spec=spec, action_low=[-1.0],
                           action_high=[1.0], out_path=path, parity_obs=obs)
    return out


def run_rate(policy: Path, rate: float, duration: float, rt_priority: int) -> dict[str, Any]:
    serve = subprocess.Popen([sys.executable, "-m", "robot_ppo.cli", "serve", "--robot",
                              "cartpole", "--port", "pty", "--watchdog-ms", "500"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().strip()
        s = Runtime(RunConfig(policy=policy, port=url, rate=rate, duration=duration,
                              rate_margin=1e6, rt_priority=rt_priority, stats_file="",
                              standby_s=0.5, quiet=True),
                    print_summary=False).run()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)
    sb = s["standby"]
    s["default_margin_verdict"] = ("accepted" if sb["bus_rtt_p99_us"] + sb["compute_p99_us"]
                                   <= 0.8 * sb["period_us"] else "refused")
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="200,500,1000", help="comma-separated rates in Hz")
    ap.add_argument("--duration", type=float, default=3.0, help="seconds per rate")
    ap.add_argument("--rt-priority", type=int, default=50, help="SCHED_FIFO priority (0 = off)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        policy = make_policy(Path(tmp) / "cartpole.onnx")
        for rate in (float(r) for r in args.rates.split(",")):
            rows.append(run_rate(policy, rate, args.duration, args.rt_priority))
    print("| target Hz | achieved Hz | jitter p50 / p99 / max µs | deadline misses | "
          "compute p50 / p99 µs | bus RTT p50 / p99 µs | SCHED_FIFO | standby check |")
    print("|---|---|---|---|---|---|---|---|")
    for s in rows:
        j, c, b = s["jitter_us"], s["compute_us"], s["bus_rtt_us"]
        print(f"| {s['target_rate_hz']:g} | {s['achieved_rate_hz']:.1f} | {j['p50']:.0f} / "
              f"{j['p99']:.0f} / {j['max']:.0f} | {s['deadline_misses']} of {s['cycles']} | "
              f"{c['p50']:.0f} / {c['p99']:.0f} | {b['p50']:.0f} / {b['p99']:.0f} | "
              f"{s['realtime'].get('sched_fifo', False)} | {s['default_margin_verdict']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
