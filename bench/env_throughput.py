"""Raw env throughput: control steps per second with random actions, one process, per robot.

    python bench/env_throughput.py [--steps 2000] [--dynamics randomized] [--robots a,b]

Prints one line per robot: control steps/s, physics steps/s (× decimation) and µs per step.
Resets are included (an episode ends on termination or truncation as in training).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import sim


def bench(robot: str, steps: int, dynamics: str, seed: int = 0) -> dict[str, float | str]:
    env = sim.make_env(robot, dynamics, seed=seed)
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high
    actions = rng.uniform(low, high, size=(steps, *env.action_space.shape)).astype(np.float32)
    env.reset(seed=seed)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    dt = time.perf_counter() - t0
    dec = env.unwrapped.robot_spec.rates.decimation
    env.close()
    return {"robot": robot, "dynamics": dynamics, "steps": steps,
            "control_steps_per_s": round(steps / dt, 1),
            "physics_steps_per_s": round(steps * dec / dt, 1),
            "us_per_step": round(1e6 * dt / steps, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--dynamics", default="randomized")
    p.add_argument("--robots", default=",".join(sim.list_robots()))
    args = p.parse_args()
    for robot in args.robots.split(","):
        print(json.dumps(bench(robot, args.steps, args.dynamics)), flush=True)


if __name__ == "__main__":
    main()
