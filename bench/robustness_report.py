"""Markdown tables and the figure of bench/robustness.py, from its results.json rows.

A row (one robot × variant × budget) holds per seed: the mean return on `nominal` and
`shifted` (`nominal`, `shifted`; and `reference` where the robot has a reference set, named
in `reference_set`), the per-episode returns and lengths
(`<set>_returns`, `<set>_lengths`), task metrics (`<set>_metrics`), plus `desc`, `steps`,
`episodes`, `max_length`, `serial` (ok, rate_hz, deadline_misses of the export → run ↔
serve check) and the `cmd` that measured it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

TASK_METRICS = {"mean_performance": ("walk score", 2),
                "mean_speed": ("speed (m/s)", 2),
                "mean_speed_error": ("speed error (m/s)", 2),
                "success_rate": ("success rate", 2)}
"""Task metrics shown beside the returns when the eval reports them (walk: its episode
score, fraction survived × fraction of the commanded speed delivered; speed, speed error and
success, i.e. full length with ≥ 80 % of the commanded speed; reach: success)."""


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def pooled(r: dict[str, Any], key: str) -> list[float]:
    return [x for seed in r.get(key, []) for x in seed]


def row_stats(r: dict[str, Any], dyn: str) -> tuple[float, float]:
    """Mean return over all episodes of all seeds and its standard error over episodes."""
    eps = pooled(r, f"{dyn}_returns")
    m = mean(eps)
    var = sum((x - m) ** 2 for x in eps) / max(len(eps) - 1, 1)
    return m, math.sqrt(var / max(len(eps), 1))


def _metric_cell(r: dict[str, Any]) -> str:
    """Every task metric all sets report, as "label: nominal → shifted" (seed means), or
    "label: nominal / reference → shifted" for a row with a reference set."""
    parts = []
    before = ("nominal", "reference") if "reference" in r else ("nominal",)
    for key, (label, digits) in TASK_METRICS.items():
        vals = {d: [m[key] for m in r.get(f"{d}_metrics", []) if key in m]
                for d in (*before, "shifted")}
        if all(vals.values()):
            parts.append(f"{label}: " + " / ".join(f"{mean(vals[d]):.{digits}f}"
                                                   for d in before)
                         + f" → {mean(vals['shifted']):.{digits}f}")
    return "; ".join(parts) or "–"


def _serial_cell(serial: dict[str, Any]) -> str:
    """`robot-ppo run` against `serve` over a pty: exit status, achieved rate, misses."""
    if not serial["ok"]:
        return "FAILED"
    return f"ok, {serial['rate_hz']:.1f} Hz, {serial['deadline_misses']} missed"


def _ratio(shf: float, se: float, base: float) -> str:
    """shifted as a percentage of `base`, ± the shifted mean's standard error."""
    if base <= 0:
        return "–"
    return f"{100 * shf / base:.0f} ± {100 * se / base:.0f} %"


def table(rows: dict[str, Any], cmds: list[str]) -> str:
    """One robot's table; `cmds` collects the distinct commands for the footnotes. Rows
    with a reference set get a "shifted / reference" column."""
    ref = any("reference" in r for r in rows.values())
    lines = [
        "| variant | training | steps × seeds × episodes | nominal return | shifted return | "
        "shifted / nominal | " + ("reference return | shifted / reference | " if ref else "")
        + "full-length episodes (shifted) | task metric (nominal "
        + ("/ reference " if ref else "") + "→ shifted) | serial | measured by |",
        "|---|---|---|---|---|---|" + ("---|---|" if ref else "") + "---|---|---|---|",
    ]
    for name, r in rows.items():
        if r["cmd"] not in cmds:
            cmds.append(r["cmd"])
        nom, _ = row_stats(r, "nominal")
        shf, se = row_stats(r, "shifted")
        lengths = pooled(r, "shifted_lengths")
        full = f"{sum(n >= r['max_length'] for n in lengths)}/{len(lengths)}"
        ref_cells = ""
        if ref and "reference" in r:
            rm, _ = row_stats(r, "reference")
            ref_cells = (f"{rm:.1f} ({', '.join(f'{x:.1f}' for x in r['reference'])}) | "
                         f"{_ratio(shf, se, rm)} | ")
        elif ref:
            ref_cells = "– | – | "
        lines.append(
            f"| {name} | {r['desc']} | {r['steps'] // 1000} k × {len(r['shifted'])} × "
            f"{r['episodes']} | {nom:.1f} ({', '.join(f'{x:.1f}' for x in r['nominal'])}) | "
            f"{shf:.1f} ± {se:.1f} ({', '.join(f'{x:.1f}' for x in r['shifted'])}) | "
            f"{_ratio(shf, se, nom)} | {ref_cells}{full} | {_metric_cell(r)} | "
            f"{_serial_cell(r['serial'])} | [{cmds.index(r['cmd']) + 1}] |")
    refs = sorted({r["reference_set"] for r in rows.values() if "reference_set" in r})
    if refs:
        lines.append("\nReference set: " + ", ".join(f"`{x}`" for x in refs) + ".")
    return "\n".join(lines) + "\n"


def report(results: dict[str, dict[str, Any]]) -> str:
    cmds: list[str] = []
    parts = []
    for robot, rows in results.items():
        parts.append(f"### {robot}\n\n" + table(rows, cmds))
    parts.append("\n".join(f"[{i + 1}] `{c}`  " for i, c in enumerate(cmds)))
    parts.append("Returns: mean over all episodes of all seeds ± standard error over those "
                 "episodes, per-seed means in brackets; full-length: episodes that ran to the "
                 "time limit (no fall or pole drop).")
    return "\n\n".join(parts) + "\n"


def ablation_table(abl: dict[str, dict[str, Any]]) -> str:
    names = list(abl)
    cells = [c for c in next(iter(abl.values())) if c not in ("checkpoint_mtime", "episodes")]
    lines = ["| set | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for c in cells:
        lines.append(f"| {c} | " + " | ".join(
            f"{abl[n][c]:.1f}" if c in abl[n] else "–" for n in names) + " |")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    """One panel per robot: nominal and shifted mean return per variant, shifted as % of
    nominal above each pair."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.2 * len(results), 3.8), squeeze=False)
    for ax, (robot, rows) in zip(axes[0], results.items()):
        names = list(rows)
        nom = [row_stats(rows[n], "nominal")[0] for n in names]
        shf = [row_stats(rows[n], "shifted")[0] for n in names]
        x = list(range(len(names)))
        ax.bar([i - 0.2 for i in x], nom, 0.4, label="nominal")
        ax.bar([i + 0.2 for i in x], shf, 0.4, label="shifted (held out, drifting)")
        top = max(nom + shf + [1e-9])
        for i, (a, b) in enumerate(zip(nom, shf)):
            ax.text(i + 0.2, max(b, 0) + 0.02 * top,
                    f"{100 * b / a:.0f}%" if a > 0 else "", ha="center", fontsize=8)
        ax.set_xticks(x, names, fontsize=8, rotation=20, ha="right")
        ax.set_ylabel("mean return")
        ax.set_title(robot, fontsize=10)
        ax.set_ylim(min(0.0, *nom, *shf), 1.3 * top)  # room for the legend above the bars
        ax.legend(loc="upper right", fontsize=7, ncols=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(runs: dict[str, dict[str, list[Path]]], path: Path) -> None:
    """Training curves: one panel per robot, the mean episode return (training dynamics,
    so each variant on its own distribution) against env steps, one line per seed."""
    import csv

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 3.6), squeeze=False)
    for ax, (robot, variants) in zip(axes[0], runs.items()):
        for i, (name, files) in enumerate(variants.items()):
            for j, f in enumerate(files):
                rows = [r for r in csv.DictReader(f.open()) if r["episode_return"] != "nan"]
                ax.plot([int(r["env_steps"]) for r in rows],
                        [float(r["episode_return"]) for r in rows], color=f"C{i}",
                        lw=1, alpha=0.9 if j == 0 else 0.4, label=name if j == 0 else None)
        ax.xaxis.set_major_formatter(lambda x, _pos: f"{x / 1e3:.0f}k")
        ax.set_xlabel("env steps")
        ax.set_ylabel("training episode return")
        ax.set_title(f"{robot} (each variant on its own training dynamics)", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
