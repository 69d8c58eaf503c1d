"""BenchConfig: every option of bench/finetune_shifted.py, one docstring each (its --help)."""

from __future__ import annotations

from pathlib import Path

from robot_ppo.cli_config import config_dataclass

ARMS = ("none", "robot", "sim_nominal", "sim_identified", "resume_identified", "no_leash")
UNLEASHED = ("resume_identified", "no_leash")
"""Arms trained with no KL term: their KL to the reference is reported, not bounded."""

DEFAULT_RECIPE: tuple[int, str | None] = (300_000, None)
"""Robots not in RECIPES: 300 000 steps with train's defaults."""
RECIPES: dict[str, tuple[int, str | None]] = {
    "cartpole": (300_000, None),
    "arm": (700_000, "train_arm.yaml"),
}
"""Per robot, the training budget and the train --config file (in bench/finetune_bench/)
that give a reference good on nominal dynamics; used where --train-steps and
--train-config are not given."""


@config_dataclass
class BenchConfig:
    out: Path = Path("bench_out/finetune_shifted")
    """Output directory: per robot and seed the trainings, the arms' adapt runs and their
    evaluation logs; results.json, results.md and robot_seconds.png at the top."""
    robots: tuple[str, ...] = ("cartpole", "arm")
    """Robots to benchmark, comma-separated (built-in names)."""
    seeds: int = 3
    """Training seeds per robot (0..N-1): each trains its own reference and oracle."""
    arms: tuple[str, ...] = ARMS
    """Arms to run, comma-separated, from none, robot, sim_nominal, sim_identified,
    resume_identified, no_leash (every arm starts from the same reference; none spends more
    than --robot-seconds of robot time)."""
    train_steps: int | None = None
    """Environment steps of the nominal reference and of the shifted oracle (same budget);
    default: the robot's recipe (cartpole 300 000, arm 700 000)."""
    reference_fraction: float = 0.95
    """The reference must reach this fraction of the task's best return on nominal
    dynamics (checked with robot-ppo eval and reported; a miss is flagged, not fatal)."""
    robot_seconds: float = 300.0
    """Robot-time budget of every fine-tuning arm: seconds of logged policy control,
    exploration and the final check included (300 s = 5 minutes)."""
    rounds: int = 3
    """adapt rounds per arm; the budget is spread over these rounds and the final check."""
    explore: float = 0.5
    """Exploration scale of the collected episodes (robot-ppo run --explore)."""
    kl_bound: float = 0.05
    """KL leash of the leashed arms (robot-ppo finetune --kl-bound)."""
    sim_mix: float = 0.5
    """Fraction of simulated experience in the sim_nominal and sim_identified arms."""
    eval_episodes: int = 20
    """Evaluation episodes per seed and policy (robot-ppo run --explore 0), serve seeds
    EVAL_SEED, EVAL_SEED+1, ... for every policy alike."""
    eval_seed: int = 5000
    """First serve seed of the evaluation episodes."""
    lockstep: bool = False
    """Serve in lockstep (one simulation period per command) and run the loop --speedup
    times faster than the control rate: same trajectories as real time on an unloaded
    machine, less wall time. Results say which timing produced them."""
    speedup: float = 4.0
    """With --lockstep: the run's loop rate as a multiple of the spec's control rate."""
    resume_steps: int = 100_000
    """resume_identified: simulated env steps of `robot-ppo train --resume` from the
    reference on the identified dynamics."""
    identify_evaluations: int = 120
    """sim_identified: CMA-ES evaluations of robot-ppo identify on the round-1 logs."""
    finetune_set: tuple[str, ...] = ()
    """Further robot-ppo adapt/finetune options for every arm, KEY=VALUE comma-separated
    (e.g. iterations=4,value_warmup_epochs=10)."""
    train_set: tuple[str, ...] = ()
    """Further robot-ppo train options for reference and oracle, KEY=VALUE comma-separated
    (e.g. num_envs=4)."""
    train_config: Path | None = None
    """A YAML file of robot-ppo train options for reference, oracle and resume_identified
    (train --config; for options whose values hold commas, such as hidden: [128, 128]);
    default: the robot's recipe (arm: bench/finetune_bench/train_arm.yaml)."""
    jobs: int = 1
    """Seeds run at once (threads driving the robot-ppo child processes; each training
    uses one torch thread, so up to one job per core). Results do not depend on it."""
    reuse: bool = True
    """Keep a training, adapt run or evaluation already complete in --out (restart a cut
    run where it stopped, or add seeds, robots or arms); refused when --out holds a run of
    other options. false: redo everything."""


def train_steps(cfg: BenchConfig, robot: str) -> int:
    """--train-steps, or the robot's recipe."""
    return cfg.train_steps if cfg.train_steps is not None else RECIPES.get(robot, DEFAULT_RECIPE)[0]


def train_config(cfg: BenchConfig, robot: str) -> Path | None:
    """--train-config, or the robot's recipe file (None: train's defaults)."""
    if cfg.train_config is not None:
        return cfg.train_config
    name = RECIPES.get(robot, DEFAULT_RECIPE)[1]
    return Path(__file__).resolve().parent / name if name else None


def train_options(cfg: BenchConfig, robot: str) -> list[str]:
    """The robot-ppo train options shared by reference, oracle and resume_identified."""
    args = ["--progress", "false", "--torch-threads", "1"]
    for item in cfg.train_set:
        args += ["--set", item]
    config = train_config(cfg, robot)
    return args + (["--config", str(config)] if config is not None else [])
