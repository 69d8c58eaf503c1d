"""What the benchmark writes: results.json, results.md (the table), robot_seconds.png.

results.json:
    meta                   command, timing (real time or lockstep), budgets, wall time
    robots.<robot>
      reference            per seed: nominal return, fraction of the best return, ok,
                           kl_oracle_to_reference (on the robot arm's round-1 observations)
      arms.<arm>
        before, after, oracle   per-episode evaluation returns, pooled over seeds
        robot_seconds           mean over seeds of the robot time the arm logged
        robot_seconds_per_seed, kl_per_seed, falls, safety_stops, accepted_per_seed
        curve                   per seed: cumulative robot seconds and logged mean return
                                of each collection round (exploring episodes)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from finetune_bench.config import UNLEASHED
from finetune_bench.stats import Interval, bootstrap_diff_ci, bootstrap_mean_ci, gap_recovered


def _ci(iv: Interval) -> str:
    return f"{iv.mean:.1f} [{iv.low:.1f}, {iv.high:.1f}]"


def arm_row(arm: str, r: dict[str, Any], kl_bound: float) -> dict[str, Any]:
    """The table's figures for one arm (also stored under 'summary' in results.json)."""
    before, after, oracle = (bootstrap_mean_ci(r[k]) for k in ("before", "after", "oracle"))
    gain = bootstrap_diff_ci(r["after"], r["before"])
    kl = max(r["kl_per_seed"]) if r["kl_per_seed"] else 0.0
    kl_any = max(r.get("kl_proposed_per_seed") or [0.0])
    return {"arm": arm, "robot_seconds": r["robot_seconds"], "before": before.__dict__,
            "after": after.__dict__, "oracle": oracle.__dict__, "improvement": gain.__dict__,
            "improvement_above_zero": gain.excludes_zero_from_above(),
            "gap_recovered": gap_recovered(before.mean, after.mean, oracle.mean),
            "kl_max": kl, "kl_proposed_max": kl_any,
            "kl_within_bound": arm in UNLEASHED or kl <= kl_bound,
            "falls": r["falls"], "safety_stops": r["safety_stops"],
            "_text": [arm, f"{r['robot_seconds']:.0f}", _ci(before), _ci(after), _ci(oracle),
                      _ci(gain), f"{gap_recovered(before.mean, after.mean, oracle.mean):.2f}",
                      f"{kl:.3g} ({kl_any:.3g})", f"{r['falls']} / {r['safety_stops']}"]}


HEADER = ["arm", "robot s", "before", "after", "oracle", "after − before",
          "gap recovered", "KL accepted (any round), max over seeds",
          "falls / safety stops (collection)"]


def table(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [f"Fine-tuning on the shifted robot ({meta['timing']}; {meta['seeds']} seed(s), "
             f"{meta['eval_episodes']} evaluation episodes per seed and policy; mean and 95 % "
             f"bootstrap interval of the per-episode return; KL bound {meta['kl_bound']:g}).",
             ""]
    for robot, rr in results["robots"].items():
        refs = ", ".join(f"{c['nominal_return']:.0f} ({c['fraction']:.0%})"
                         if math.isfinite(c["fraction"]) else f"{c['nominal_return']:.1f}"
                         for c in rr["reference"])
        ok = all(c["ok"] is not False for c in rr["reference"])
        reach = [f"{c['kl_oracle_to_reference']:.3g}" for c in rr["reference"]
                 if "kl_oracle_to_reference" in c]
        lines += [f"### {robot}", "",
                  f"Reference on nominal dynamics, per seed: {refs}"
                  + ("" if ok else f" — BELOW the {meta['reference_fraction']:.0%} target"),
                  ""]
        if reach:
            lines += [f"KL(oracle ‖ reference) on the robot arm's round-1 observations, per "
                      f"seed (how far the leash would have to reach): {', '.join(reach)} nats",
                      ""]
        lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        for arm in rr["arms"].values():
            lines.append("| " + " | ".join(arm["summary"]["_text"]) + " |")
        lines.append("")
    lines.append(f"Wall time of this invocation (steps reused from --out not counted) "
                 f"{meta['wall_s'] / 60:.1f} min: `{meta['command']}`")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Return vs robot seconds, one panel per robot: each arm's evaluated return before
    (x = 0) and after (x = its robot seconds) with 95 % intervals, the oracle's as a band,
    and the logged (exploring) round means as faint markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    robots = results["robots"]
    fig, axes = plt.subplots(1, len(robots), figsize=(6.5 * len(robots), 4.2), squeeze=False)
    for ax, (robot, rr) in zip(axes[0], robots.items(), strict=True):
        # arms share x = 0 (the same reference): a small offset keeps their bars apart
        nudge = 0.01 * max([a["robot_seconds"] for a in rr["arms"].values()] + [1.0])
        for k, (name, arm) in enumerate(rr["arms"].items()):
            s = arm["summary"]
            xs = [0.0, arm["robot_seconds"]]
            ys = [s["before"]["mean"], s["after"]["mean"]]
            err = np.array([[s[p]["mean"] - s[p]["low"] for p in ("before", "after")],
                            [s[p]["high"] - s[p]["mean"] for p in ("before", "after")]])
            line = ax.errorbar(np.add(xs, nudge * k), ys, yerr=err, marker="o", capsize=3,
                               label=name)
            for curve in arm.get("curve", []):
                ax.plot([c["robot_s"] for c in curve],
                        [c["logged_mean_return"] for c in curve], "x", alpha=0.4,
                        color=line[0].get_color())
        ax.plot([], [], "kx", alpha=0.4, label="round means while collecting (exploring)")
        any_arm = next(iter(rr["arms"].values()))["summary"]["oracle"]
        ax.axhspan(any_arm["low"], any_arm["high"], color="gray", alpha=0.2)
        ax.axhline(any_arm["mean"], color="gray", ls="--", label="oracle (trained on shifted)")
        ax.set_xlabel("robot time, s (logged policy control)")
        ax.set_ylabel("return on the shifted robot")
        ax.set_title(f"{robot} ({results['meta']['timing']})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], out: Path) -> None:
    for rr in results["robots"].values():
        for name, arm in rr["arms"].items():
            arm["summary"] = arm_row(name, arm, results["meta"]["kl_bound"])
    (out / "results.md").write_text(table(results))
    clean = json.loads(json.dumps(results, default=str))
    for rr in clean["robots"].values():
        for arm in rr["arms"].values():
            arm["summary"].pop("_text", None)
    (out / "results.json").write_text(json.dumps(clean, indent=1))
    plot(results, out / "robot_seconds.png")
