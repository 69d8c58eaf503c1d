"""`robot-ppo identify` end to end: inputs -> windows -> probe -> CMA-ES -> file + report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from robot_ppo.errors import UserError, require
from robot_ppo.identify.config import IdentifyConfig
from robot_ppo.identify.dynamics_file import FittedRange, write_dynamics
from robot_ppo.identify.fit import bootstrap, fit_cmaes, written_range
from robot_ppo.identify.params import SENSITIVITY_FLOOR, FitParam, parse_params
from robot_ppo.identify.replay import Replayer
from robot_ppo.identify.report import at_bound, format_report, prediction_error
from robot_ppo.identify.segments import build_replay_set
from robot_ppo.identify.workers import batch_evaluator
from robot_ppo.spec import RobotSpec

PROBE_WINDOWS = 60
"""Windows (evenly spaced) on which each parameter's effect is probed."""


def check_config(config: IdentifyConfig) -> None:
    checks = [
        (bool(config.rollouts), "--rollouts is required (one or more rollout directories)"),
        (config.horizon >= 1, "--horizon must be >= 1"),
        (config.evaluations >= 1, "--evaluations must be >= 1"),
        (config.popsize >= 0, "--popsize must be >= 0 (0 = the CMA-ES default)"),
        (config.max_windows >= 0, "--max-windows must be >= 0 (0 = all)"),
        (config.bootstrap >= 0, "--bootstrap must be >= 0"),
        (config.workers >= 0, "--workers must be >= 0 (0 = one per CPU core)"),
        (config.width_scale > 0, "--width-scale must be > 0"),
        (bool(config.output), "--output (-o) must name a file"),
    ]
    require(checks)


def output_paths(config: IdentifyConfig) -> tuple[Path, Path]:
    out = Path(config.output)
    report = Path(config.report) if config.report else out.with_suffix(".report.json")
    for p in (out, report):
        if p.is_dir():
            raise UserError(f"{str(p)!r} is a directory; give a file name")
        if p.exists() and not config.overwrite:
            raise UserError(f"{str(p)!r} exists; give another -o / --report, or --overwrite "
                            "to replace it")
        if not p.parent.is_dir():
            raise UserError(f"the directory of {str(p)!r} does not exist")
    if out.resolve() == report.resolve():
        raise UserError("--report must differ from --output")
    return out, report


def _spec_and_hash(config: IdentifyConfig) -> tuple[RobotSpec | None, str | None, str]:
    """The spec the logs must match (None: take it from the logs), its hash, and its origin."""
    from robot_ppo.spec import load_spec, spec_from_dict

    spec, origin = None, ""
    if config.checkpoint:
        from robot_ppo.train.checkpoint import load_checkpoint

        ckpt = load_checkpoint(config.checkpoint)
        if ckpt.get("spec") is None:
            raise UserError(f"checkpoint {config.checkpoint!r} was trained on a gymnasium env "
                            f"({ckpt.get('env_id')}) without a robot spec: no robot to identify")
        spec = spec_from_dict(ckpt["spec"], origin=f"{config.checkpoint} (spec)")
        origin = f"the checkpoint {config.checkpoint}"
    if config.robot:
        robot = load_spec(config.robot)
        if spec is not None and robot.spec_hash != spec.spec_hash:
            raise UserError(f"--robot {config.robot} (spec hash {robot.spec_hash}) is not the "
                            f"robot of {origin} (spec hash {spec.spec_hash})")
        spec, origin = robot, f"--robot {config.robot}"
    return spec, (spec.spec_hash if spec is not None else None), origin


def load_inputs(config: IdentifyConfig) -> tuple[RobotSpec, Any]:
    """The robot spec and its rollouts (logs of another robot are refused by name)."""
    from robot_ppo.rollout_format import find_runs, read_rollouts
    from robot_ppo.spec import spec_from_dict

    spec, expected, origin = _spec_and_hash(config)
    if expected is not None:
        for run in find_runs(list(config.rollouts)):
            try:
                found = json.loads((run / "header.json").read_text()).get("spec_hash")
            except (OSError, ValueError, AttributeError):
                continue  # read_rollouts names what is wrong with this header
            if found != expected:
                raise UserError(f"rollout {run} was recorded on another robot: its spec hash "
                                f"is {found}, {origin} has {expected}")
    data = read_rollouts(list(config.rollouts), expected_spec_hash=expected)
    if spec is None:
        spec = spec_from_dict(data.spec, origin="the spec stored in the logs")
    return spec, data


def probe(replayer: Replayer, params: list[FitParam]) -> dict[str, float]:
    """Per parameter: the largest RMS change (in units of each dimension's spread) of the
    replayed states when it moves a quarter of its search width from nominal."""
    data = replayer.data
    n = len(data.windows)
    pick = np.unique(np.linspace(0, n - 1, min(n, PROBE_WINDOWS)).round().astype(int))
    windows = [data.windows[i] for i in pick]
    base = np.concatenate(replayer.predict({}, windows))
    out = {}
    for p in params:
        change = 0.0
        for v in p.probes():
            moved = np.concatenate(replayer.predict({p.name: v}, windows))
            d = np.sqrt(np.mean(((moved - base) / data.scale) ** 2))
            change = max(change, float(d) if np.isfinite(d) else np.inf)
        out[p.name] = change
    return out


def run_identify(config: IdentifyConfig, log: Callable[[str], None] = print
                 ) -> dict[str, Any]:
    check_config(config)
    out, report_path = output_paths(config)
    t0 = time.monotonic()
    spec, rollouts = load_inputs(config)
    data = build_replay_set(rollouts.episodes, spec, config.horizon, config.timing,
                            config.max_windows)
    params = parse_params(spec, config.params)
    max_latency = max([p.high for p in params if p.name == "action_latency_s"], default=0.0)
    replayer = Replayer(spec, data, max_latency_s=max_latency)
    try:
        log(f"identify: {len(data.windows)} windows of {data.horizon} steps from "
            f"{rollouts.n_steps} logged steps ({rollouts.report.summary()})")
        sensitivity = probe(replayer, params)
        if not config.params:
            params = [p for p in params if sensitivity[p.name] > SENSITIVITY_FLOOR]
            if not params:
                raise UserError("the logs inform none of the spec's randomizable parameters "
                                "(moving any of them does not change the replayed states): "
                                "record with exploration (run --explore) so the commands "
                                "excite the dynamics, or name them with --params")
        names = [p.name for p in params]
        log(f"identify: fitting {', '.join(names)}")
        with batch_evaluator(replayer, names, config.workers, max_latency) as evaluate:
            fit = fit_cmaes(params, evaluate, data.horizon * len(data.dims),
                            config.evaluations, config.seed, config.popsize, log)
        unc = bootstrap(fit, config.bootstrap, config.seed)
        est = {n: float(v) for n, v in zip(names, fit.estimate)}
        before = prediction_error(data, replayer.predict({}))
        after = prediction_error(data, replayer.predict(est))
    finally:
        replayer.close()
    ranges = [FittedRange(p.name, est[p.name],
                          *written_range(p, est[p.name], config.width_scale * half))
              for p, half in zip(params, unc.half_width)]
    report = _report(config, spec, rollouts, data, params, sensitivity, fit, unc, ranges,
                     before, after)
    header = [f"robot-ppo identify: robot {spec.name} (spec hash {spec.spec_hash}), "
              f"{rollouts.n_steps} logged steps, {len(data.windows)} windows of "
              f"{data.horizon} steps",
              "each range: estimate ± width_scale · max(95 % bootstrap half-width, last "
              f"CMA-ES population std), width_scale {config.width_scale:g}",
              f"prediction error (normalized RMS): nominal {before['normalized_rms']:.4g}, "
              f"identified {after['normalized_rms']:.4g}"]
    write_dynamics(out, spec, ranges, config.base, header)
    report["seconds"] = round(time.monotonic() - t0, 2)
    from robot_ppo.atomic_write import atomic_write

    atomic_write(report_path, json.dumps(report, indent=1))
    log(format_report(report))
    log(f"identify: wrote {out} and {report_path} ({report['seconds']:.1f} s)")
    return report


def _report(config: IdentifyConfig, spec: RobotSpec, rollouts: Any, data: Any,
            params: list[FitParam], sensitivity: dict[str, float], fit: Any, unc: Any,
            ranges: list[FittedRange], before: dict[str, Any], after: dict[str, Any]
            ) -> dict[str, Any]:
    fitted = {p.name for p in params}
    return {
        "robot": spec.name, "spec_hash": spec.spec_hash,
        "rollouts": [str(r) for r in config.rollouts], "output": config.output,
        "data": {"episodes": data.episodes, "steps": data.steps, "segments": data.segments,
                 "windows": len(data.windows), "windows_available": data.total_windows,
                 "horizon": data.horizon, "timing": data.timing, "dims": data.dims,
                 "scale": data.scale.tolist()},
        "fit": {"evaluations": int(fit.candidates.shape[0]), "generations": fit.generations,
                "stop": fit.stop, "seed": config.seed, "bootstrap": config.bootstrap,
                "width_scale": config.width_scale, "base": config.base},
        "sensitivity": sensitivity,
        "not_informed": [n for n in sensitivity if n not in fitted],
        "params": [{"name": p.name, "nominal": p.nominal, "search": [p.low, p.high],
                    "estimate": r.estimate,
                    "interval_95": [float(lo), float(hi)], "population_std": float(sd),
                    "range": [r.low, r.high], "at_bound": at_bound(r.estimate, p.low, p.high)}
                   for p, r, lo, hi, sd in zip(params, ranges, unc.low, unc.high, unc.spread)],
        "error": {"nominal": before, "identified": after},
    }
