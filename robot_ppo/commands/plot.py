"""`robot-ppo plot DIR [-o out.png]`: learning curves of a training run."""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="robot-ppo plot",
        description="Render the learning curves of a run from DIR/metrics.csv to a PNG: a "
                    "training run's (return, losses, KL, ...) against env steps, a fine-tuning "
                    "run's (KL to the reference with its bound, β, losses) against iterations.")
    parser.add_argument("run_dir", metavar="DIR", type=Path,
                        help="run directory written by robot-ppo train or finetune (or its "
                             "metrics.csv)")
    parser.add_argument("-o", "--out", type=Path, default=None,
                        help="PNG to write (default: DIR/learning_curves.png)")
    args = parser.parse_args(argv)
    from robot_ppo.train.plot import plot_run

    out = plot_run(args.run_dir, args.out)
    print(f"wrote {out}")
    return 0
