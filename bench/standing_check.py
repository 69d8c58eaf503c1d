"""Is a dynamics set physically feasible? With no policy (action 0: the PD controller holds
the default pose) count the episodes in which the robot is still up after `--seconds`.

    python bench/standing_check.py --robot quadruped

Sets: nominal, randomized, the robot's `shifted`, and `generic_shifted` (the default
construction of sim/randomization.py for every parameter, ignoring the spec's `shifted`
overrides: each range moved beyond training on its harder side by half its width). A set
in which the robot cannot even stand at its default pose measures nothing about a policy.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import yaml


def generic_shifted(robot: str, out: Path) -> Path:
    from robot_ppo.spec import load_spec
    from sim.dynamics import resolve_dynamics
    from sim.randomization import default_shifted

    train = resolve_dynamics(load_spec(robot), "randomized").ranges
    path = out / f"{robot}_generic_shifted.yaml"
    path.write_text(yaml.safe_dump({"base": "shifted", "ranges": {
        k: [float(x) for x in default_shifted(k, *r)] for k, r in train.items()}}))
    return path


def standing(robot: str, dynamics: str, episodes: int, seconds: float
             ) -> tuple[list[int], int]:
    """Control steps survived per episode (eval seeds 0…N−1) and the number asked for."""
    import sim
    from robot_ppo.spec import load_spec

    spec = load_spec(robot)
    steps = round(seconds * spec.rates.control_hz)
    env = sim.make_env(spec, dynamics=dynamics)
    out = []
    try:
        for seed in range(episodes):
            env.reset(seed=seed)
            n, done = 0, False
            while n < steps and not done:
                _, _, terminated, truncated, _ = env.step(np.zeros(spec.act_dim))
                n, done = n + 1, terminated or truncated
            out.append(n)
    finally:
        env.close()
    return out, steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--robot", default="quadruped")
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"nominal": "nominal", "randomized": "randomized", "shifted": "shifted",
                "generic_shifted": str(generic_shifted(args.robot, Path(tmp)))}
        rows = {}
        for name, dyn in sets.items():
            lens, full = standing(args.robot, dyn, args.episodes, args.seconds)
            rows[name] = {"standing": sum(n >= full for n in lens), "episodes": len(lens),
                          "steps": lens}
            print(f"{name:16s} still up after {args.seconds:g} s: "
                  f"{rows[name]['standing']}/{len(lens)}  (steps {lens})", flush=True)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
