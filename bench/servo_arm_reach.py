"""Does an exported servo_arm policy reach over the Feetech bus? The whole stack, per target:

    robot-ppo serve --robot servo_arm --protocol feetech --lockstep   (six emulated STS3215s)
    robot-ppo run   --protocol feetech --command target_x=..,target_y=..,target_z=..

The targets are the reach task's own (env.reset(seed=1000 + k)); the final end-effector
distance comes from the logged joint positions through the task's forward kinematics.

    robot-ppo train --robot servo_arm ... --out runs/servo_arm     (docs/robots.md)
    robot-ppo export runs/servo_arm/checkpoint.pt -o servo_arm.onnx
    python bench/servo_arm_reach.py --policy servo_arm.onnx --targets 10 --out bench_out/sa_reach

Prints one line per target and a JSON summary (success = final distance < 5 cm, the arm's
standard in docs/robots.md).
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

import sim
from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.rollout_format import read_rollouts
from robot_ppo.spec import load_spec
from sim.tasks.reach import ee_position


def reach_one(policy: Path, target: np.ndarray, log_dir: Path,
              duration: float) -> tuple[float, bool]:
    """Final distance (m) to `target` and whether the run faulted."""
    serve = subprocess.Popen([sys.executable, "-m", "robot_ppo", "serve", "--robot", "servo_arm",
                              "--port", "pty", "--protocol", "feetech", "--lockstep"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = serve.stdout.readline().strip() if serve.stdout else ""
        command = ",".join(f"target_{a}={v}" for a, v in zip("xyz", target, strict=True))
        # lock-step: the plant advances one period per command, so the rate is a formality
        cfg = RunConfig(policy=policy, port=url, duration=duration, log_dir=str(log_dir),
                        rt_priority=0, cpu=-2, standby_s=0.05, stats_file="", quiet=True,
                        protocol="feetech", command=command, rate_margin=50.0,
                        link_timeout_ms=200.0)
        summary = Runtime(cfg, print_summary=False).run()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(10)
    q = np.asarray(read_rollouts(log_dir).episodes[0]["q"])
    spec = load_spec("servo_arm")
    return float(np.linalg.norm(ee_position(spec, q[-1]) - target)), bool(summary["fault"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", type=Path, required=True, help="exported servo_arm policy")
    ap.add_argument("--targets", type=int, default=10, help="how many targets")
    ap.add_argument("--duration", type=float, default=2.5, help="seconds of policy per target")
    ap.add_argument("--out", type=Path, default=Path("bench_out/servo_arm_reach"))
    args = ap.parse_args()
    env = sim.make_env("servo_arm", "nominal", seed=0)
    distances, faults = [], 0
    for k in range(args.targets):
        env.reset(seed=1000 + k)
        target = np.asarray(env.unwrapped.command, dtype=float).copy()
        d, fault = reach_one(args.policy, target, args.out / f"target{k}", args.duration)
        distances.append(d)
        faults += fault
        print(f"target {k}: final distance {d * 100:.1f} cm{' (fault)' if fault else ''}",
              flush=True)
    env.close()
    arr = np.array(distances)
    print(json.dumps({"targets": args.targets, "success_rate": float(np.mean(arr < 0.05)),
                      "mean_final_distance_m": round(float(arr.mean()), 4),
                      "median_final_distance_m": round(float(np.median(arr)), 4),
                      "faults": faults}))


if __name__ == "__main__":
    main()
