"""Robustness table: for each robot, rows trained with more and more randomization,
evaluated on nominal dynamics and on the held-out `shifted` set (which also drifts and
changes suddenly in-episode). One command measures both robots:

    python bench/robustness.py --out bench_out/robustness_v5 --jobs 2

Rows are data: bench/robustness/rows/<name>.yaml (option overrides, read by
bench/robustness_rows.py); the default ones, the per-robot budgets (steps, seeds, evaluation
episodes) and reference sets are in bench/robustness/bench.yaml. `--variants a,b` selects
rows by file name (a row that continues another's run brings that one along);
`--steps 200000` sets every robot's budget, `--steps quadruped=1500000` one robot's. A budget
other than bench.yaml's trains into OUT/<robot>/<row>_<steps/1000>k, so runs of different
lengths never overwrite each other. Every cell is
`robot-ppo eval --checkpoint … --robot SPEC --episodes N --dynamics nominal|shifted --json`
(SPEC: the row's spec without its `reward_params`; deterministic mean action, eval seeds
0…N−1); robots with a reference set are also evaluated on it (the quadruped: nominal with
10 ms latency). Each row's seed-0 policy is exported to ONNX and run for 3 s through
`robot-ppo run` against `robot-ppo serve --port pty` (column "serial"). `--ablate-variants`
evaluates seed 0 of those rows on one shifted component at a time.

Writes OUT/results.json (rows of earlier invocations into the same OUT are kept unless
re-measured), OUT/table.md (pasted into docs/robustness.md), docs/img/robustness.png and
the training curves docs/img/robustness_curves.png.
Trainings and evaluations run `--jobs` at a time under `nice -n 5`; existing checkpoints
in OUT/<robot>/<row>/seed<k> with enough steps are reused, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from robustness_ablation import ablation_files
from robustness_report import TASK_METRICS, ablation_table, plot, plot_curves, report
from robustness_rows import BUDGETS, DEFAULT_ROWS, REFERENCE, ROWS, Budget, row_spec

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "robot_ppo.cli"]
NICE = ["nice", "-n", "5"]


def sh(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    print("$", shlex.join(cmd), flush=True)
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)
    if res.returncode != 0:
        raise RuntimeError(f"command failed ({res.returncode}): {shlex.join(cmd)}\n"
                           f"{res.stderr[-3000:]}")
    return res


def train(robot: str, variant: str, spec: str, run: Path, steps: int, seed: int,
          init: Path | None = None) -> float:
    """Train unless `run` already holds a checkpoint of at least `steps`; seconds spent.
    `init`: the run directory to continue from (`Row.init`), which must hold a
    checkpoint of fewer steps."""
    summary = run / "summary.json"
    if summary.is_file() and json.loads(summary.read_text())["env_steps"] >= steps:
        return 0.0
    v = ROWS[variant]
    resume: list[str] = []
    if init is not None:
        start = init / "summary.json"
        if not start.is_file() or json.loads(start.read_text())["env_steps"] >= steps:
            raise RuntimeError(f"{variant} continues {v.init}'s run {init}, which must hold "
                               f"a checkpoint of fewer than {steps} steps: give this row a "
                               f"larger --steps")
        resume = ["--resume", str(init / "checkpoint.pt")]
    # a run directory that holds a shorter or unfinished run is the bench's own: train anew
    overwrite = ["--overwrite"] if run.is_dir() and any(run.iterdir()) else []
    t = time.time()
    sh([*NICE, *CLI, "train", "--robot", spec, "--dynamics", v.dynamics, "--steps", str(steps),
        "--seed", str(seed), "--out", str(run), "--tensorboard", "false", *resume, *overwrite,
        *v.args()])
    return round(time.time() - t, 1)


def evaluate(ckpt: Path, spec: str, dynamics: str, episodes: int) -> dict[str, Any]:
    """`robot-ppo eval --json`: mean_return, per-episode `returns` and `lengths`, task metrics.
    `--robot spec`: the dynamics sets are the robot's current ones, not those stored in the
    checkpoint's copy of the spec."""
    res = sh([*NICE, *CLI, "eval", "--checkpoint", str(ckpt), "--robot", spec, "--episodes",
              str(episodes), "--dynamics", dynamics, "--json"])
    result: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return result


def sets(robot: str) -> tuple[str, ...]:
    """The dynamics sets every row of `robot` is evaluated on (see REFERENCE)."""
    return ("nominal", "shifted") + (("reference",) if robot in REFERENCE else ())


def dynamics_arg(robot: str, dyn: str) -> str:
    """`--dynamics` for a set name: the reference set is a YAML file."""
    return REFERENCE[robot] if dyn == "reference" else dyn


def serial_check(spec: str, run: Path) -> dict[str, Any]:
    """Export seed 0 to ONNX and run it for 3 s over a pty against the simulated robot:
    `ok` (exit status 0: no fault, no fall), the achieved loop rate and deadline misses."""
    from robot_ppo.spec import load_spec

    task = load_spec(spec).task
    # a walking policy is run at the middle of its trained speed range (0 is outside it)
    command = [f"{name}={sum(task.params[f'{name}_range']) / 2:g}" for name in task.command
               if f"{name}_range" in task.params]
    onnx = run / "policy.onnx"
    stats = run / "run_stats.json"
    stats.unlink(missing_ok=True)  # never report an earlier run's loop
    sh([*CLI, "export", str(run / "checkpoint.pt"), "--output", str(onnx)])
    serve = subprocess.Popen([*CLI, "serve", "--robot", spec, "--port", "pty", "--duration",
                              "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=ROOT)
    try:
        assert serve.stdout is not None
        port = serve.stdout.readline().strip()
        res = subprocess.run([*CLI, "run", "--policy", str(onnx), "--port", port, "--robot",
                              spec, "--duration", "3", "--quiet", "true", "--stats-file",
                              str(stats), "--command", ",".join(command)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
        if res.returncode != 0:
            print(res.stderr[-2000:], file=sys.stderr)
    finally:
        serve.terminate()
        serve.wait(timeout=10)
    loop = json.loads(stats.read_text()) if stats.is_file() else {}
    return {"ok": res.returncode == 0, "rate_hz": loop.get("achieved_rate_hz"),
            "deadline_misses": loop.get("deadline_misses")}


def eval_fields(per_set: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A results.json row's evaluation fields from each set's per-seed `evaluate` results:
    mean returns, per-episode returns and lengths, task metrics, the episode limit."""
    row: dict[str, Any] = {}
    for dyn, res in per_set.items():
        row[dyn] = [x["mean_return"] for x in res]
        row[f"{dyn}_returns"] = [x["returns"] for x in res]
        row[f"{dyn}_lengths"] = [x["lengths"] for x in res]
        row[f"{dyn}_metrics"] = [{k: x[k] for k in TASK_METRICS if k in x} for x in res]
        row["max_length"] = res[0]["max_length"]
    return row


def per_robot(text: str, robots: list[str], field: str) -> dict[str, int]:
    """'N' (every robot) or 'robot=N,robot=N' (those robots) over BUDGETS' defaults."""
    out = {r: getattr(BUDGETS.get(r, BUDGETS["cartpole"]), field) for r in robots}
    for part in filter(None, text.split(",")):
        if "=" in part:
            name, value = part.split("=", 1)
            if name not in out:
                raise SystemExit(f"--{field}: {name!r} is not among --robots {robots}")
            out[name] = int(value)
        else:
            out = {r: int(part) for r in out}
    return out


def ablation(robot: str, ckpts: dict[str, Path], specs: dict[str, str], out: Path,
             episodes: int, jobs: int) -> str:
    """Evaluate each row's checkpoint on the shifted set and its ablation sets (cells cached
    in OUT/<robot>/ablation.json while the checkpoint is unchanged); the markdown table."""
    files = ablation_files(robot, out / robot)
    cache = out / robot / "ablation.json"
    abl: dict[str, dict[str, Any]] = json.loads(cache.read_text()) if cache.is_file() else {}
    todo = []
    for v, ckpt in ckpts.items():
        stamp = str(ckpt.stat().st_mtime_ns)
        if abl.get(v, {}).get("checkpoint_mtime") != stamp or \
                abl[v].get("episodes") != episodes:
            abl[v] = {"checkpoint_mtime": stamp, "episodes": episodes}
        todo += [(v, ckpt, specs[v], cell, str(path)) for cell, path in
                 [("shifted", "shifted"), *files.items()] if cell not in abl[v]]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        done = pool.map(lambda t: evaluate(t[1], t[2], t[4], episodes), todo)
        for (v, _, _, cell, _), got in zip(todo, done):
            abl[v][cell] = got["mean_return"]
    cache.write_text(json.dumps(abl, indent=2))
    return (f"\nAblation, {robot} (seed 0, mean return over {episodes} episodes, "
            f"eval seeds 0–{episodes - 1}):\n\n") + ablation_table({v: abl[v] for v in ckpts})


Case = tuple[str, str, int]
"""(robot, row, steps): one row of the table."""


def plan(robots: list[str], wanted: list[str], budget: dict[str, Budget],
         default: dict[str, Budget]
         ) -> tuple[list[tuple[str, str]], list[Case], dict[Case, int]]:
    """(robot, row) pairs, the table's cases in order and each case's number of seeds."""
    # (robot, row): the wanted rows that apply to each robot (Row.robots), each preceded by
    # the row whose run it continues (Row.init), which is a row of the table too
    pairs: list[tuple[str, str]] = []
    for r in robots:
        for v in wanted:
            if not ROWS[v].applies_to(r):
                continue
            for w in (ROWS[v].init, v):
                if w and (r, w) not in pairs:
                    pairs.append((r, w))
    # (robot, variant, steps): every wanted pair at the budget, plus the extra rows; a
    # variant that continues another's run only at a larger budget, and that run (added
    # below) at the default budget
    cases = [(r, v, budget[r].steps) for r, v in pairs if v in wanted
             if not (ROWS[v].init and budget[r].steps <= default[r].steps)]
    seeds = {c: budget[c[0]].seeds for c in cases}
    for r in robots:
        for v, n, k in budget[r].extra:
            if (r, v) in pairs:
                if (r, v, n) not in seeds:
                    cases.append((r, v, n))
                seeds[(r, v, n)] = max(k, seeds.get((r, v, n), 0))
    for r, v, n in list(cases):  # every seed continued needs its run at the default budget
        init = (r, ROWS[v].init, default[r].steps)
        if init[1]:
            if init not in seeds:
                cases.insert(0, init)
            seeds[init] = max(seeds.get(init, 0), seeds[(r, v, n)])
    return pairs, cases, seeds


def parse_args() -> tuple[argparse.Namespace, list[str], list[str]]:
    """The arguments, the robots and the wanted rows (checked)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench_out/robustness"))
    ap.add_argument("--robots", default="cartpole,quadruped")
    ap.add_argument("--variants", default=",".join(DEFAULT_ROWS),
                    help=f"rows (bench/robustness/rows/), comma-separated, from: "
                         f"{', '.join(ROWS)}")
    for field in ("steps", "seeds", "episodes"):
        ap.add_argument(f"--{field}", default="",
                        help="N or robot=N,... (defaults: " + ", ".join(
                            f"{r} {getattr(b, field)}" for r, b in BUDGETS.items()) + ")")
    ap.add_argument("--jobs", type=int, default=2, help="trainings/evaluations at a time")
    ap.add_argument("--ablate-variants", default="randomized,gru_adr",
                    help="evaluate seed 0 of these on one shifted component at a time "
                         "('' to skip)")
    ap.add_argument("--ablate-episodes", type=int, default=10)
    ap.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    robots = [r for r in args.robots.split(",") if r]
    wanted = [v for v in args.variants.split(",") if v]
    unknown = [v for v in wanted if v not in ROWS]
    if unknown:
        ap.error(f"unknown row(s) {unknown}; known: {', '.join(ROWS)} "
                 "(rejected rows: docs/robustness_history.md)")
    return args, robots, wanted


def main() -> int:
    args, robots, wanted = parse_args()
    default = {r: BUDGETS.get(r, BUDGETS["cartpole"]) for r in robots}
    budget = {r: Budget(**{f: per_robot(getattr(args, f), robots, f)[r]
                           for f in ("steps", "seeds", "episodes")},
                        extra=default[r].extra) for r in robots}
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    cmd = shlex.join(["python", "bench/robustness.py", *sys.argv[1:]])
    own = out / "results.json"
    results: dict[str, dict[str, Any]] = json.loads(own.read_text()) if own.is_file() else {}
    if any("desc" in row for row in results.values()):  # one-robot file of an older version
        own.rename(out / "results.v1.json")
        print(f"kept the older-format {own} as results.v1.json; starting a new table")
        results = {}
    t0 = time.time()

    pairs, cases, seeds = plan(robots, wanted, budget, default)
    jobs = [(*c, seed) for c in cases for seed in range(seeds[c])]
    specs = {(r, v): row_spec(r, ROWS[v], out / r) for r, v in pairs}
    # a row that trains with another reward is scored with the task's own, like every
    # other row (`robot-ppo eval --robot` accepts a spec that differs only there)
    scored = {(r, v): row_spec(r, ROWS[v], out / r, scored=True) for r, v in pairs}

    def run_dir(r: str, v: str, steps: int, seed: int) -> Path:
        name = v if steps == default[r].steps else f"{v}_{steps // 1000}k"
        return out / r / name / f"seed{seed}"

    def init_dir(r: str, v: str, steps: int, seed: int) -> Path | None:
        init = ROWS[v].init
        return run_dir(r, init, default[r].steps, seed) if init else None

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        train_s: dict[tuple[str, str, int, int], float] = {}
        # runs that others continue are all finished before those start
        for phase in ([j for j in jobs if not ROWS[j[1]].init],
                      [j for j in jobs if ROWS[j[1]].init]):
            train_s.update(zip(phase, pool.map(lambda j: train(
                j[0], j[1], specs[j[:2]], run_dir(*j), j[2], j[3], init_dir(*j)), phase)))
        cells = [(*j, dyn) for j in jobs for dyn in sets(j[0])]
        evals = dict(zip(cells, pool.map(lambda c: evaluate(
            run_dir(*c[:4]) / "checkpoint.pt", scored[c[:2]], dynamics_arg(c[0], c[4]),
            budget[c[0]].episodes), cells)))

    for r, v, n in cases:
        rows = results.setdefault(r, {})
        b = budget[r]
        vv = ROWS[v]
        row: dict[str, Any] = {
            "variant": v, "cmd": cmd, "steps": n, "episodes": b.episodes,
            "desc": f"{Path(specs[(r, v)]).stem} / {vv.dynamics}"
                    + (" " + " ".join(vv.args()) if vv.train else ""),
            "train_s": [train_s[(r, v, n, s)] for s in range(seeds[(r, v, n)])],
            **({"reference_set": REFERENCE[r]} if r in REFERENCE else {}),
            **eval_fields({dyn: [evals[(r, v, n, s, dyn)] for s in range(seeds[(r, v, n)])]
                           for dyn in sets(r)})}
        row["serial"] = serial_check(specs[(r, v)], run_dir(r, v, n, 0))
        rows[f"{v}@{n // 1000}k"] = row
        own.write_text(json.dumps(results, indent=2))

    md = report(results)
    ablate = [v for v in args.ablate_variants.split(",") if v in wanted]
    for r in robots:
        # seed 0 at the budget: rows that apply to the robot and train from scratch
        here = [v for v in ablate if (r, v) in pairs and not ROWS[v].init]
        if here:
            md += ablation(r, {v: run_dir(r, v, budget[r].steps, 0) / "checkpoint.pt"
                               for v in here}, {v: scored[(r, v)] for v in here}, out,
                           args.ablate_episodes, args.jobs)
    print(md)
    print(f"total {time.time() - t0:.0f} s")
    (out / "table.md").write_text(md)
    plot(results, args.docs / "img" / "robustness.png")
    plot_curves({r: {f"{v}@{n // 1000}k": [run_dir(r, v, n, s) / "metrics.csv"
                                           for s in range(seeds[(r, v, n)])]
                     for rr, v, n in cases if rr == r} for r in robots},
                args.docs / "img" / "robustness_curves.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
