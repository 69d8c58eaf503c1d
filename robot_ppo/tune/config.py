"""TuneConfig: every option of `robot-ppo tune`, one docstring each (shown by --help).

Training options that stay fixed across trials are not here: they come from `--config FILE`
and `--set key=value` exactly as in `robot-ppo train` (TrainConfig keys).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from robot_ppo.cli_config import config_dataclass


@config_dataclass
class TuneConfig:
    robot: str | None = None
    """Robot spec to tune on: a built-in name or a spec YAML file. Default when neither
    --robot nor --env is given: cartpole."""
    env: str | None = None
    """A gymnasium environment id with Box spaces (e.g. Pendulum-v1), instead of a robot."""
    trials: int = 8
    """Trials the study should hold when this command ends (finished, pruned or failed ones,
    counted over every process that shares the study, earlier runs included)."""
    jobs: int = 1
    """Trials run at once, each in a process of its own (1: in this process), with train's
    torch_threads (default 1; --set torch_threads=N) torch threads and its envs stepped in
    that process (workers 0 unless --set workers=W)."""
    out: Path | None = None
    """Output directory: the study (SQLite by default), trials/<n>/ run directories,
    best.yaml, trials.csv, the plots. Default: runs/tune-<robot-or-env>-<timestamp>."""
    study: str | None = None
    """Study name; a second `tune` with the same --study and --storage joins the study.
    Default: tune-<robot-or-env>."""
    storage: str | None = None
    """Where the study lives: empty = SQLite file DIR/study.db; `journal` = Optuna's journal
    file DIR/journal.log; a path ending .log = that journal file (a shared filesystem); an
    RDB URL such as postgresql://user:pass@host/db (several machines)."""
    space: Path | None = None
    """Search-space YAML (docs/tuning.md). Default: the robot's space shipped in
    robot_ppo/tune/spaces/ (default.yaml for --env and robots without one)."""
    objective: Literal["return", "steps", "seconds"] = "return"
    """return: maximize the evaluation score (--metric) after the step budget; steps /
    seconds: minimize the env steps / training seconds until the evaluation score reaches
    --threshold."""
    metric: Literal["mean_return", "mean_performance", "success_rate"] = "mean_return"
    """What an evaluation scores (higher is better): mean_return; mean_performance, the walk
    task's episode score in [0, 1] (fraction survived x fraction of the commanded speed
    delivered, 0 standing still); success_rate (walk, reach). --env: mean_return only."""
    threshold: float | None = None
    """Evaluation score (--metric) that counts as solved (needed by --objective steps and
    seconds)."""
    budget: int | None = None
    """Env steps each trial trains for at most. Default: `steps` from --config/--set when
    given, else the space file's budget, else train's default for the robot."""
    eval_every: int | None = None
    """Evaluate (and report to the pruner) every this many env steps, rounded up to whole
    training iterations. Default: the space file's eval_every, else budget/4."""
    eval_episodes: int = 5
    """Episodes per evaluation (deterministic policy, seeds eval_seed, eval_seed+1, ...)."""
    eval_dynamics: str = "nominal"
    """Dynamics set of the evaluations (robots): nominal | randomized | shifted | a dynamics
    YAML file. `shifted` scores robustness on held-out dynamics."""
    eval_seed: int = 10_000
    """Seed of the first evaluation episode (apart from the training seeds)."""
    seed: int = 0
    """Seed of the sampler and of every trial's training (the same for all trials, so they
    differ only in their parameters)."""
    seeds: int = 1
    """Training seeds per trial (--seed, --seed+1, ...), trained one after another; the
    trial's value is the mean of theirs, so that a setting does not win on one lucky seed
    (docs/tuning.md: at 8k steps the cartpole's defaults score 275 to 500 by seed). Seed k
    reports to the pruner at k x budget + the evaluation's step."""
    sampler: Literal["tpe", "cmaes", "random"] = "tpe"
    """tpe: multivariate TPE (Bayesian); cmaes: CMA-ES (needs the cmaes package;
    categorical parameters are then sampled independently); random: a baseline."""
    startup_trials: int = 5
    """Trials sampled at random before TPE / CMA-ES model the results, and finished trials
    before the median pruner prunes anything."""
    pruner: Literal["median", "halving", "hyperband", "none"] = "median"
    """Stop unpromising trials at an intermediate evaluation: median (below the median of
    earlier trials at the same step), halving (successive halving), hyperband, none."""
    warmup_steps: int | None = None
    """Env steps a trial trains before it can be pruned (median: n_warmup_steps; halving and
    hyperband: min_resource). Default: eval_every (the first evaluation never prunes)."""
    overwrite: bool = False
    """Delete the tune files of a different study already in --out (study.db, journal.log,
    trials/, best.yaml, trials.csv, plots) instead of refusing."""
    plots: bool = True
    """Write the PNG plots (optimization history, parameter importances, parallel
    coordinates) at the end."""
