"""What ADR saw in training: sampled episodes against mean-action probes.

    python bench/adr_judges.py bench_out/robustness_v5/quadruped/gru_adr_probe/seed*

For each run directory, from its metrics.csv: the mean over the iterations after `--from`
env steps (default: the second half of the run) of `adr/performance` (the training envs'
episodes, actions sampled as in training) and, for runs trained with `--adr-probe-envs`,
`adr/probe_performance` (the probes' episodes, mean action: what the robot runs); the env
steps at which the ADR entropy first rose above its initial value; the final entropy,
reference (`--adr-relative`) and exploration σ (geometric mean over the actions, from the
policy's Gaussian entropy).
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from robot_ppo.algo.distributions import sigma_from_entropy


def _float(row: dict[str, str], key: str) -> float:
    value = row.get(key)
    return float(value) if value not in (None, "") else float("nan")


def _mean(rows: list[dict[str, str]], key: str) -> float:
    values = [v for v in (_float(r, key) for r in rows) if not math.isnan(v)]
    return sum(values) / len(values) if values else float("nan")


def judge(run: Path, act_dim: int, start: int | None) -> dict[str, float | None]:
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    if not rows:
        raise SystemExit(f"{run}/metrics.csv has no rows")
    steps = [int(r["env_steps"]) for r in rows]
    start = steps[-1] // 2 if start is None else start
    late = [r for r, n in zip(rows, steps, strict=True) if n > start]
    entropies = [(n, _float(r, "adr/entropy")) for r, n in zip(rows, steps, strict=True)]
    entropies = [(n, h) for n, h in entropies if not math.isnan(h)]
    grew = next((n for n, h in entropies if h > entropies[0][1] + 1e-9), None) \
        if entropies else None
    last = rows[-1]
    sigma = sigma_from_entropy(_float(last, "entropy"), act_dim)
    return {"from_steps": start, "sampled": _mean(late, "adr/performance"),
            "probe": _mean(late, "adr/probe_performance"), "first_growth": grew,
            "final_entropy": _float(last, "adr/entropy"),
            "final_reference": _float(last, "adr/reference"), "sigma": sigma}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--act-dim", type=int, default=12, help="the policy's action count "
                    "(σ from the entropy; the quadruped's 12)")
    ap.add_argument("--from", dest="start", type=int, default=None,
                    help="average over iterations after this many env steps (default: half)")
    args = ap.parse_args()
    print("run | sampled | mean-action probes | first growth (steps) | final entropy | "
          "final reference | σ")
    for run in args.runs:
        j = judge(run, args.act_dim, args.start)
        print(f"{run} | {j['sampled']:.2f} | {j['probe']:.2f} | {j['first_growth']} | "
              f"{j['final_entropy']:.1f} | {j['final_reference']:.2f} | {j['sigma']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
