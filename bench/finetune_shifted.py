"""Does fine-tuning on the robot help, and how much robot time does it take? (issue 31)

    python bench/finetune_shifted.py --out DIR                      # defaults, real time
    python bench/finetune_shifted.py --out DIR --lockstep true      # faster than real time
    python bench/finetune_shifted.py --out DIR --lockstep true --jobs 2   # two seeds at once
    python bench/finetune_shifted.py --out DIR --robots cartpole

Per robot and seed: a reference trained on nominal dynamics (checked against 95 % of the
task's best return) and an oracle trained on `shifted` with the same budget. Each arm starts
from the same reference with the same robot-time budget, through the real stack (`robot-ppo
adapt`: `run --explore` children against `serve --dynamics shifted` behind a pty, rounds
with rollback):

    none            no fine-tuning
    robot           robot data only, KL-leashed to the reference
    sim_nominal     + simulated experience on nominal dynamics (--sim-mix)
    sim_identified  + simulated experience on the dynamics `robot-ppo identify` fitted to
                    the robot arm's round-1 logs
    resume_identified  `robot-ppo train --resume` from the reference on those identified
                    dynamics (no robot time beyond the round-1 logs; no leash)
    no_leash        robot data only, no KL penalty or bound (falls and safety stops counted)

Every policy is evaluated with `run --explore 0` on the same serve seeds. Writes
results.json, results.md (the table) and robot_seconds.png to --out; see
bench/finetune_bench/report.py for the layout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from finetune_bench.arms import identify, reference_check, run_arm, train
from finetune_bench.config import ARMS, BenchConfig, train_steps
from finetune_bench.report import write
from finetune_bench.resume_arm import kl_on_logs, run_resume_identified
from finetune_bench.stack import BenchError, Timing, evaluate

from robot_ppo.cli_config import config_to_dict, parse_config
from robot_ppo.errors import UserError
from robot_ppo.spec import load_spec


def check(cfg: BenchConfig) -> None:
    bad = [a for a in cfg.arms if a not in ARMS]
    if bad:
        raise UserError(f"unknown arm(s) {', '.join(bad)}; choose from {', '.join(ARMS)}")
    needs_robot = [a for a in ("sim_identified", "resume_identified") if a in cfg.arms]
    if needs_robot and "robot" not in cfg.arms:
        raise UserError(f"--arms: {needs_robot[0]} identifies from the robot arm's round-1 "
                        "logs, so it needs the robot arm too")
    if min(cfg.seeds, cfg.eval_episodes, cfg.rounds, cfg.jobs) < 1:
        raise UserError("--seeds, --eval-episodes, --rounds and --jobs must be at least 1")
    if cfg.robot_seconds <= 0 or cfg.speedup <= 0:
        raise UserError("--robot-seconds and --speedup must be positive")


FREE_TO_CHANGE = ("reuse", "robots", "seeds", "arms", "out", "jobs")
"""Options a rerun on the same --out may change: they add to the run, not alter its parts."""


def check_reuse(cfg: BenchConfig) -> None:
    """With --reuse, --out must hold a run of the same options (or none): its trainings,
    adapt runs and evaluations are kept as they are."""
    path = cfg.out / "config.json"
    now = {k: v for k, v in config_to_dict(cfg).items() if k not in FREE_TO_CHANGE}
    if cfg.reuse and path.is_file():
        # an option newer than the run: it ran with that option's default
        before = {**{k: v for k, v in config_to_dict(BenchConfig()).items() if k in now},
                  **json.loads(path.read_text())}
        changed = sorted(k for k in now if before.get(k) != now[k])
        if changed:
            raise UserError(f"{cfg.out} holds a run with other {', '.join(changed)}; use "
                            "another --out, or --reuse false to redo everything")
    path.write_text(json.dumps(now, indent=1))


def run_seed(robot: str, seed: int, cfg: BenchConfig) -> dict[str, Any]:
    """Reference, oracle and every arm of one seed, in the layout of results.json's
    robots.<robot> (see pool)."""
    pooled: dict[str, Any] = {"reference": [], "arms": {}}
    spec = load_spec(robot)
    timing = Timing(cfg.lockstep, cfg.speedup, spec)
    d = cfg.out / robot / f"seed_{seed}"
    ref = train(robot, "nominal", seed, cfg, d / "reference")
    oracle = train(robot, "shifted", seed, cfg, d / "oracle")
    pooled["reference"].append({"seed": seed, **reference_check(
        d / "reference" / "checkpoint.pt", spec, cfg, d / "reference.eval.log")})

    def evals(name: str, policy: Path) -> list[float]:
        got = evaluate(policy, spec, d / f"eval_{name}", cfg.eval_episodes, cfg.eval_seed,
                       timing, cfg.reuse)
        return [s.ret for s in got]

    before, after_oracle = evals("reference", ref), evals("oracle", oracle)
    identified = None
    for arm in [a for a in ARMS if a in cfg.arms]:  # robot before sim_identified
        acc = pooled["arms"].setdefault(arm, {
            "before": [], "after": [], "oracle": [], "robot_seconds_per_seed": [],
            "kl_per_seed": [], "kl_proposed_per_seed": [], "accepted_per_seed": [], "falls": 0,
            "safety_stops": 0,
            "curve": []})
        acc["before"] += before
        acc["oracle"] += after_oracle
        if arm == "none":
            acc["after"] += before
            acc["robot_seconds_per_seed"].append(0.0)
            acc["kl_per_seed"].append(0.0)
            acc["kl_proposed_per_seed"].append(0.0)
            acc["accepted_per_seed"].append("reference")
        else:
            if arm in ("sim_identified", "resume_identified") and identified is None:
                identified = identify(d / "reference" / "checkpoint.pt",
                                      d / "arm_robot" / "round_1" / "logs", cfg, timing,
                                      d / "identified.yaml")
            if arm == "resume_identified":
                assert identified is not None
                res = run_resume_identified(robot, d / "reference" / "checkpoint.pt",
                                            identified, seed, cfg, timing, d)
            else:
                res = run_arm(arm, d / "reference" / "checkpoint.pt", seed, cfg, timing,
                              d / f"arm_{arm}", identified)
            # the accepted policy may be the reference itself: same policy, same seeds
            acc["after"] += (before if res.accepted == "reference"
                             else evals(arm, res.policy))
            acc["robot_seconds_per_seed"].append(res.robot_seconds)
            acc["kl_per_seed"].append(res.kl)
            acc["kl_proposed_per_seed"].append(res.kl_proposed)
            acc["accepted_per_seed"].append(res.accepted)
            acc["falls"] += res.falls
            acc["safety_stops"] += res.safety_stops
            acc["curve"].append(res.rounds)
    round_one = d / "arm_robot" / "round_1" / "logs"
    if round_one.is_dir():
        # how far the leash would have to reach: the oracle's KL to the reference
        pooled["reference"][-1]["kl_oracle_to_reference"] = kl_on_logs(
            oracle, ref, round_one, spec.spec_hash)
    return pooled


def pool(seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """One robot's seeds (run_seed's results, in seed order) pooled: lists joined, counts
    summed, robot_seconds the mean over seeds."""
    pooled: dict[str, Any] = {"reference": [], "arms": {}}
    for one in seeds:
        pooled["reference"] += one["reference"]
        for arm, got in one["arms"].items():
            acc = pooled["arms"].setdefault(arm, {})
            for key, value in got.items():
                if isinstance(value, list):
                    acc[key] = acc.get(key, []) + value
                elif key in ("falls", "safety_stops"):
                    acc[key] = acc.get(key, 0) + value
            per_seed = acc["robot_seconds_per_seed"]
            acc["robot_seconds"] = sum(per_seed) / len(per_seed)
    return pooled


def main(argv: list[str]) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cfg = parse_config(BenchConfig, argv, "python bench/finetune_shifted.py", __doc__ or "")
    check(cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    check_reuse(cfg)
    t0 = time.time()
    results: dict[str, Any] = {"meta": {
        "command": " ".join(["python", *sys.argv]), "config": config_to_dict(cfg),
        "timing": Timing(cfg.lockstep, cfg.speedup, load_spec(cfg.robots[0])).label(),
        "seeds": cfg.seeds, "eval_episodes": cfg.eval_episodes, "kl_bound": cfg.kl_bound,
        "reference_fraction": cfg.reference_fraction}, "robots": {}}
    # the longest trainings first, so that --jobs workers finish together
    tasks = sorted(((r, k) for r in cfg.robots for k in range(cfg.seeds)),
                   key=lambda t: -train_steps(cfg, t[0]))
    done: dict[tuple[str, int], dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=cfg.jobs) as pool_ex:
        futures = {pool_ex.submit(run_seed, r, k, cfg): (r, k) for r, k in tasks}
        try:
            for fut in as_completed(futures):
                done[futures[fut]] = fut.result()
                results["robots"] = {r: pool([done[(r, k)] for k in range(cfg.seeds)
                                              if (r, k) in done])
                                     for r in cfg.robots if any(d[0] == r for d in done)}
                results["meta"]["wall_s"] = time.time() - t0
                write(results, cfg.out)  # after every seed: a cut run still leaves a table
        except BaseException as exc:
            pool_ex.shutdown(wait=False, cancel_futures=True)
            if cfg.jobs > 1 and not isinstance(exc, KeyboardInterrupt):
                print("finetune_shifted: a seed failed (below); waiting for the seeds still "
                      "running (Ctrl-C stops them)", file=sys.stderr)
            raise
    print((cfg.out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (UserError, BenchError) as exc:
        sys.exit(f"finetune_shifted: error: {exc}")
