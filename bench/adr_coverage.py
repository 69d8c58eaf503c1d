"""How much of a held-out dynamics set did an ADR run train on?

    python bench/adr_coverage.py RUN_DIR [RUN_DIR ...] [--robot quadruped] [--dynamics shifted]

For each run, it reads the final ADR ranges (the last row of RUN_DIR/metrics.csv, columns
`adr/<param>_lo`, `adr/<param>_hi`). For each parameter that the held-out set varies, it
prints the fraction of the training range that lies inside the held-out band:
    overlap = |[lo, hi] ∩ [a, b]| / (hi − lo).
ADR draws parameters independently and uniformly from their ranges. The product of the
overlaps is therefore the probability that a training episode (one not pinned at a boundary)
lands inside the held-out box for every parameter at once. For the held-out set, that box
is the hard corner of all the ranges.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from robot_ppo.spec import load_spec
from sim.dynamics import resolve_dynamics


def overlaps(row: dict[str, str], band: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Per parameter varied by `band` and ranged by ADR: the overlap fraction."""
    out = {}
    for name, (a, b) in band.items():
        lo_s, hi_s = row.get(f"adr/{name}_lo", ""), row.get(f"adr/{name}_hi", "")
        if b <= a or not lo_s or not hi_s:
            continue
        lo, hi = float(lo_s), float(hi_s)
        if hi <= lo:  # a point: inside the band or not
            out[name] = float(a <= lo <= b)
            continue
        frac = max(0.0, min(hi, b) - max(lo, a)) / (hi - lo)
        # ranges that only touch (0.05 == 0.05 up to rounding in the CSV) do not overlap
        out[name] = frac if frac > 1e-6 else 0.0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--robot", default="quadruped")
    ap.add_argument("--dynamics", default="shifted", help="held-out set: a name or a YAML file")
    args = ap.parse_args()
    band = resolve_dynamics(load_spec(args.robot), args.dynamics).ranges
    for run in args.runs:
        metrics = run / "metrics.csv"
        if not metrics.is_file():
            raise SystemExit(f"{metrics}: not found; pass a training run directory")
        with metrics.open() as f:
            rows = list(csv.DictReader(f))
        if not rows or "adr/entropy" not in rows[-1]:
            raise SystemExit(f"{metrics}: no ADR columns; was it trained with --dynamics adr?")
        ov = overlaps(rows[-1], band)
        never = [k for k, v in ov.items() if v == 0]
        print(f"{run} (env steps {rows[-1]['env_steps']}):")
        print("  " + ", ".join(f"{k} {v:.2f}" for k, v in ov.items()))
        print(f"  never trained inside the band: {', '.join(never) or 'none'} "
              f"({len(never)} of {len(ov)}); all at once: {math.prod(ov.values()):.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
