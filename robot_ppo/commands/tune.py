"""`robot-ppo tune`: search training hyperparameters with Optuna (docs/tuning.md).

Options of the search are flags; the training options every trial shares come from
`--config FILE` and `--set key=value` exactly as in `robot-ppo train` (TrainConfig keys, the
robot's preset applied first). Every check runs before the first trial.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from robot_ppo.cli_config import (
    RECORDED,
    apply_overrides,
    build_parser,
    given_names,
    load_yaml_mapping,
)
from robot_ppo.cli_values import with_values
from robot_ppo.errors import UserError, require
from robot_ppo.train.config import TrainConfig
from robot_ppo.tune.config import TuneConfig

DESCRIPTION = """\
Search PPO hyperparameters with Optuna: each trial trains with `robot-ppo train`'s code for a
step budget, is evaluated with `robot-ppo eval`'s code on the way (the pruner stops poor
trials early), and scores the objective. Writes into DIR: the study (study.db by default),
trials/<n>/ (each trial's run), best.yaml (train it: robot-ppo train --config DIR/best.yaml),
trials.csv and plots/*.png. Re-running the same command resumes the study; a second process
with the same --study and --storage joins it. --config FILE and --set KEY=VALUE take
`robot-ppo train`'s options (its --help lists them), fixed for every trial.

examples:
  robot-ppo tune --robot cartpole --trials 8 --jobs 2 --out runs/tune-cartpole
  robot-ppo tune --robot cartpole --objective steps --threshold 475 --set envs=4
  robot-ppo tune --env Pendulum-v1 --trials 20 --budget 50000 --storage journal
"""

FIXED_REFUSED = ("out", "resume", "overwrite", "seed", "robot", "env")
"""Training options `tune` decides itself (--out, --seed, --robot, --env are its own flags)."""


def parse(argv: list[str]) -> tuple[TuneConfig, Any, set[str]]:
    """The tune options, the fixed TrainConfig (with the robot's preset, like `train`), and the
    TrainConfig keys the user gave through --config/--set."""
    from robot_ppo.commands import train

    ns = vars(build_parser(TuneConfig, "robot-ppo tune", DESCRIPTION).parse_args(argv))
    config_file, sets = ns.pop("config", None), ns.pop("set_", [])
    cfg = apply_overrides(TuneConfig(), ns, "the command line")
    given: set[str] = set()
    train_argv: list[str] = []
    if config_file is not None:
        values = load_yaml_mapping(Path(config_file), "config file")
        values.pop(RECORDED, None)
        given |= given_names(TrainConfig, [(values, f"config file {config_file}")])
        train_argv += ["--config", config_file]
    for item in sets:
        given.add(item.split("=", 1)[0].strip().replace("-", "_").rsplit(".", 1)[-1])
        train_argv += ["--set", item]
    refused = sorted(given & set(FIXED_REFUSED))
    if refused:
        raise UserError(f"--config/--set: {', '.join(refused)} cannot be fixed for the trials "
                        "(tune sets them: use tune's own --out, --seed, --robot, --env)")
    if cfg.robot and cfg.env:
        raise UserError("give --robot or --env, not both")
    train_argv += ["--env", cfg.env] if cfg.env else ["--robot", cfg.robot or "cartpole"]
    return cfg, train.parse(train_argv), given


def _checks(cfg: TuneConfig) -> None:
    checks = [(cfg.trials >= 1, "--trials must be >= 1"), (cfg.jobs >= 1, "--jobs must be >= 1"),
              (cfg.eval_episodes >= 1, "--eval-episodes must be >= 1"),
              (cfg.seeds >= 1, "--seeds must be >= 1"),
              (cfg.budget is None or cfg.budget >= 1, "--budget must be >= 1 env steps"),
              (cfg.eval_every is None or cfg.eval_every >= 1, "--eval-every must be >= 1"),
              (cfg.startup_trials >= 0, "--startup-trials must be >= 0"),
              (cfg.warmup_steps is None or cfg.warmup_steps >= 0, "--warmup-steps must be >= 0"),
              (cfg.env is None or cfg.eval_dynamics == "nominal",
               "--eval-dynamics applies to robots; a gymnasium env (--env) has one dynamics")]
    require(checks)


TASK_METRICS = {"balance": ("mean_return",), "reach": ("mean_return", "success_rate"),
                "walk": ("mean_return", "mean_performance", "success_rate")}
"""The --metric values each task's evaluation reports (robot-ppo eval)."""


def _robot_facts(cfg: TuneConfig) -> tuple[str, float | None]:
    """The robot's name (for default names and its space) and the best possible value of
    --metric where the task defines one (balance: +1 per step, so episode_steps; scores and
    rates: 1). Checks --eval-dynamics and --metric."""
    if cfg.env:
        if cfg.metric != "mean_return":
            raise UserError(f"--metric {cfg.metric} is a robot task's score; a gymnasium env "
                            "(--env) is scored by mean_return")
        return cfg.env.replace("/", "_"), None
    from robot_ppo.spec import load_spec
    from sim.dynamics import resolve_dynamics

    spec = load_spec(cfg.robot or "cartpole")
    resolve_dynamics(spec, cfg.eval_dynamics)  # an unknown set or a bad file fails here
    known = TASK_METRICS.get(spec.task.name, ("mean_return",))
    if cfg.metric not in known:
        raise UserError(f"--metric {cfg.metric}: the {spec.task.name} task's evaluation does "
                        f"not report it; it reports {', '.join(known)}")
    if cfg.metric != "mean_return":
        return spec.name, 1.0
    best = float(spec.task.episode_steps) if spec.task.name == "balance" else None
    return spec.name, best


def _budgets(cfg: TuneConfig, fixed: Any, given: set[str], space: Any) -> tuple[int, int, int]:
    """Env steps per trial, between evaluations, and before pruning may start."""
    budget = cfg.budget or (fixed.run.steps if "steps" in given else None) or space.budget \
        or fixed.run.steps
    every = cfg.eval_every or space.eval_every or max(1, budget // 4)
    warmup = cfg.warmup_steps if cfg.warmup_steps is not None else every
    return budget, every, warmup


def _open_study(cfg: TuneConfig, storage: Any, name: str, objective: Any) -> Any:
    import optuna

    want = {"kind": objective.kind, "threshold": objective.threshold,
            "metric": objective.metric}
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True,
                                direction=objective.direction)
    held = study.user_attrs.get("objective")
    if held is not None and held != want:
        raise UserError(f"study {name!r} in this storage was started with --objective "
                        f"{held['kind']} --metric {held.get('metric', 'mean_return')}"
                        + (f" --threshold {held['threshold']:g}"
                           if held.get("threshold") is not None else "")
                        + "; give the same, or another --study")
    if study.direction.name.lower() != objective.direction:
        raise UserError(f"study {name!r} in this storage {study.direction.name.lower()}s its "
                        f"value, and --objective {objective.kind} would "
                        f"{objective.direction} it; give another --study")
    if held is None:
        study.set_user_attr("objective", want)
    return study


def main(argv: list[str]) -> int:
    import optuna  # noqa: F401  (missing: robot_ppo/cli.py names the [tune] extra)

    from robot_ppo.commands.train import validate
    from robot_ppo.tune import out_dir
    from robot_ppo.tune.evaluation import EvalPlan
    from robot_ppo.tune.objective import make_objective
    from robot_ppo.tune.samplers import make_sampler
    from robot_ppo.tune.space import default_space_path, load_space
    from robot_ppo.tune.storage import open_storage, resolve
    from robot_ppo.tune.trial import TrialJob
    from robot_ppo.tune.workers import WorkerPlan, quiet_optuna, reap_orphans

    cfg, fixed, given = parse(argv)
    _checks(cfg)
    make_sampler(cfg.sampler, cfg.seed, cfg.startup_trials)  # CMA-ES without cmaes fails here
    name, max_return = _robot_facts(cfg)
    objective = make_objective(cfg.objective, cfg.threshold, max_return, cfg.metric)
    space = load_space(cfg.space or default_space_path(None if cfg.env else name))
    budget, every, warmup = _budgets(cfg, fixed, given, space)
    local = {"out": None, "progress": False, "tensorboard": False, "checkpoint_every": 0}
    if "workers" not in given:
        local["workers"] = 0  # one trial per core: no env processes inside a trial
    fixed = with_values(fixed, steps=budget, seed=cfg.seed, **local)
    validate(fixed)
    out = cfg.out or Path("runs") / f"tune-{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    study_name = cfg.study or f"tune-{name}"
    spec = resolve(cfg.storage, out)
    resuming = out_dir.check_out_dir(out, study_name, spec.shown(), cfg.overwrite)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)  # the default SQLite file and the journal live here
    try:
        storage = open_storage(spec)  # an unreachable server or a missing driver fails here
    except UserError:
        if created:
            out.rmdir()  # leave no empty directory behind a refused run
        raise
    quiet_optuna()
    study = _open_study(cfg, storage, study_name, objective)
    out_dir.write_manifest(out, {"study": study_name, "storage": spec.shown(),
                                 "objective": objective.describe()})
    reaped = reap_orphans(storage, study_name)
    fresh = not study.trials
    if fresh:
        defaults = space.defaults(fixed)
        if defaults is not None:  # trial 0 measures the defaults, for the summary
            study.enqueue_trial(defaults, user_attrs={"defaults": True}, skip_if_exists=True)
    log = sys.stderr
    finished = [t for t in study.trials if t.state.is_finished()]
    print(f"robot-ppo tune: study {study_name!r} in {spec.shown()}"
          + (f": {'resuming' if resuming else 'joining'} with {len(finished)} finished trials"
             if not fresh else "") + (f"; marked failed: {reaped}" if reaped else ""),
          file=log)
    plan = WorkerPlan(job=TrialJob(fixed=fixed, space=space, objective=objective,
                                   plan=EvalPlan(cfg.eval_episodes, cfg.eval_dynamics,
                                                 cfg.eval_seed, every, cfg.metric),
                                   out=out.resolve(), seeds=cfg.seeds),
                      storage=spec, study=study_name, trials=cfg.trials, sampler=cfg.sampler,
                      pruner=cfg.pruner, seed=cfg.seed, startup_trials=cfg.startup_trials,
                      warmup_steps=warmup)
    from robot_ppo.tune.report import finish, search
    t0 = time.perf_counter()
    codes = search(plan, cfg.jobs, storage, study)
    header = [f"study {study_name!r} ({spec.shown()}), {time.perf_counter() - t0:.0f} s "
              f"with {cfg.jobs} job(s); objective: {objective.describe()}",
              f"budget {budget} env steps per seed, {cfg.seeds} seed(s) per trial, evaluated "
              f"every {every} on "
              f"{cfg.eval_episodes} {cfg.eval_dynamics} episodes; sampler {cfg.sampler}, "
              f"pruner {cfg.pruner} (warm-up {warmup} steps)"]
    ok = finish(study, out, fixed, given, header, plots=cfg.plots)
    if any(code == 2 for code in codes):
        return 2
    return 0 if ok else 1
