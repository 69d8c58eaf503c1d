"""The fit's report: per-parameter estimates, prediction error before and after.

`prediction_error` condenses one replay of every window: RMS per compared dimension, in
its own unit and normalized by its spread over the logs, and the overall normalized RMS
(the square root of the loss CMA-ES minimized).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robot_ppo.identify.segments import ReplaySet

AT_BOUND = 0.01
"""An estimate within this fraction of the search width from a bound is flagged."""


def prediction_error(data: ReplaySet, predictions: list[np.ndarray]) -> dict[str, Any]:
    diff = np.concatenate([p - w.target for p, w in zip(predictions, data.windows)])
    diff = np.where(np.isfinite(diff), diff, np.inf)
    rms = np.sqrt(np.mean(diff ** 2, axis=0))
    norm = np.sqrt(np.mean((diff / data.scale) ** 2, axis=0))
    return {
        "normalized_rms": float(np.sqrt(np.mean((diff / data.scale) ** 2))),
        "per_dim": {d: {"rms": float(r), "normalized_rms": float(n)}
                    for d, r, n in zip(data.dims, rms, norm)},
    }


def format_report(report: dict[str, Any]) -> str:
    """The human-readable summary printed at the end."""
    lines = [
        f"identify: {report['robot']}: {report['data']['steps']} logged steps in "
        f"{report['data']['episodes']} episode(s), {report['data']['windows']} windows of "
        f"{report['data']['horizon']} steps (timing {report['data']['timing']})",
        f"  CMA-ES: {report['fit']['evaluations']} evaluations, "
        f"{report['fit']['generations']} generations, {report['fit']['stop']}",
    ]
    dropped = report.get("not_informed", [])
    if dropped:
        lines.append(f"  not fitted (the logs do not inform them): {', '.join(dropped)}")
    lines.append(f"  {'parameter':<18}{'nominal':>10}{'estimate':>12}"
                 f"{'95% interval':>24}{'written range':>26}")
    for p in report["params"]:
        flag = "  (at search bound)" if p["at_bound"] else ""
        lines.append(
            f"  {p['name']:<18}{p['nominal']:>10.4g}{p['estimate']:>12.4g}"
            f"{_pair(p['interval_95']):>24}{_pair(p['range']):>26}{flag}")
    if any(p["at_bound"] for p in report["params"]):
        lines.append("  an estimate at its search bound: widen it with --params NAME=LOW:HIGH")
    if report["fit"]["stop"].startswith("evaluation budget"):
        lines.append("  (CMA-ES had not converged: more --evaluations may lower the error)")
    before, after = report["error"]["nominal"], report["error"]["identified"]
    lines.append(f"  prediction error (normalized RMS over {report['data']['horizon']}-step "
                 f"replays): nominal {before['normalized_rms']:.4g} -> identified "
                 f"{after['normalized_rms']:.4g}")
    for d, b in before["per_dim"].items():
        a = after["per_dim"][d]
        lines.append(f"    {d:<28} RMS {b['rms']:.4g} -> {a['rms']:.4g}")
    return "\n".join(lines)


def _pair(v: list[float]) -> str:
    return f"[{v[0]:.4g}, {v[1]:.4g}]"


def at_bound(value: float, low: float, high: float) -> bool:
    tol = AT_BOUND * (high - low)
    return bool(value - low < tol or high - value < tol)
