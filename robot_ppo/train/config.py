"""TrainConfig: every option of `robot-ppo train`, one docstring each (shown by --help),
in four sections: environment (what to train on), model, ppo (the update: PPOParams,
robot_ppo/algo/ppo_params.py) and run (how long, where, on what). Option names are unique
across sections, so flags, `--set` keys and presets name them flat (`lr`, not `ppo.lr`).

Defaults are chosen for speed and learning on small continuous-control tasks (see
docs/benchmarks.md): 8 envs × 256 steps = 2048 samples per iteration, minibatches
of 256 (8 per epoch) × 10 epochs, lr 1e-3, observation normalization and reward scaling.
Minibatches of 256 take 4× fewer optimizer steps per sample than SB3's 64; on Pendulum
(5 seeds, 100k steps) they learned better than both 512 (mean −333, worst −502) and 128
(−220, worst −338): mean −203, worst −240.

Per-env presets (`PRESETS`, applied when `preset=auto`) override defaults for known
gymnasium ids whose usual recipe differs; values from --config, --set or flags still win.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from robot_ppo.algo.ppo_params import PPOParams
from robot_ppo.cli_values import config_dataclass, require_all, rules_apply, with_values


@config_dataclass
class EnvOptions:
    robot: str | None = None
    """Robot spec to train on: a built-in name (e.g. cartpole) or a spec YAML file. Default
    when neither --robot nor --env is given: cartpole."""
    env: str | None = None
    """Any gymnasium environment id with Box observation and action spaces (e.g. Pendulum-v1),
    instead of a robot. Non-[-1,1] action bounds: the policy acts in its own space and actions
    are clipped to the bounds when stepping the env."""
    dynamics: str = "randomized"
    """Robot envs only: the dynamics set passed to the simulator (nominal|randomized|...)."""
    privileged: bool = False
    """Give the critic the env's privileged observations (info['privileged']); the actor never
    sees them (asymmetric actor-critic)."""
    adr_high: Annotated[float, Field(le=1)] = 0.8
    """--dynamics adr: a range boundary whose episodes' mean normalized task performance (in
    [0, 1]; the walk score, the fraction balanced, ...) reaches this widens by one step
    (sim/adr.py)."""
    adr_low: Annotated[float, Field(ge=0)] = 0.4
    """--dynamics adr: a boundary whose mean performance falls to this narrows by one step,
    never inside the plain-DR range."""
    adr_sides: Literal["both", "hard"] = "both"
    """--dynamics adr: which range boundaries ADR probes and moves. both: each range's two
    ends; hard: only the end that is harder for the robot (heavier, weaker, slipperier,
    later; biases and slopes at either end), the other stays at the plain-DR range, so the
    ranges grow only where the robot finds it harder."""
    adr_fixed: tuple[str, ...] = ()
    """--dynamics adr: parameters (comma-separated, names as in docs/simulation.md) that ADR
    leaves at their plain-DR range: drawn from it in every episode, never probed or
    widened. For knobs whose spread you know (a datasheet's motor tolerance), or whose
    harder end the robot cannot survive together with the others' harder ends. A name ADR
    does not move on this robot (not randomized there) is refused."""
    adr_relative: bool = False
    """--dynamics adr: read --adr-high and --adr-low as fractions of the policy's mean
    performance on the current ranges (its last 50 episodes not pinned at a boundary)
    rather than as absolute values, and widen nothing while that mean is below 0.2 (a
    policy that does not do the task yet; sim/adr.py MIN_REFERENCE). For a task whose score
    is far from 1 (the quadruped's walk score)."""

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> EnvOptions:
        """Cross-field rules; each field's own bounds are declared on it."""
        if rules_apply(info):
            require_all([
                (not (self.robot and self.env), "give --robot or --env, not both"),
                (self.adr_low < self.adr_high,
                 "--adr-low and --adr-high must satisfy 0 <= adr_low < adr_high <= 1 (they "
                 "are fractions of the task's normalized performance, or with --adr-relative "
                 "of the policy's mean performance, e.g. 0.4 and 0.8)"),
                (not self.adr_fixed or (self.dynamics == "adr" and not self.env),
                 "--adr-fixed names parameters that ADR leaves alone; it needs a robot "
                 "trained with --dynamics adr"),
            ])
        return self


@config_dataclass
class ModelOptions:
    hidden: Annotated[tuple[Annotated[int, Field(ge=1)], ...], Field(min_length=1)] = (64, 64)
    """Hidden layer sizes of the actor and the critic, e.g. 64,64."""
    activation: Literal["tanh", "elu", "relu"] = "tanh"
    """Hidden activation."""
    std_mode: Literal["state_independent", "state_dependent"] = "state_independent"
    """Policy std: one learned log-std per action (state_independent) or a head on the actor."""
    init_std: Annotated[float, Field(gt=0)] = 1.0
    """Initial policy standard deviation (in the policy's action space)."""
    std_final: Annotated[float, Field(ge=0)] = 0.0
    """Anneal exploration toward what is exported: an upper bound on the policy std that
    falls geometrically from --init-std to this by --std-final-at of --steps and then stays
    (robot_ppo/train/std_schedule.py); a std below the bound is left to learning. 0: off.
    Needs std_mode state_independent."""
    std_final_at: Annotated[float, Field(gt=0, le=1)] = 0.75
    """--std-final: the fraction of --steps at which the bound reaches --std-final."""
    recurrent: Literal["none", "gru"] = "none"
    """gru: a GRU in front of the actor MLP and a separate GRU in front of the critic
    (robot_ppo/algo/recurrent.py); trained on sequences of seq_len steps with autograd and
    exported with explicit hidden-state inputs/outputs. none: feed-forward MLPs."""
    rnn_hidden: int = 64
    """GRU state size (recurrent=gru)."""
    normalize_obs: bool = True
    """Running mean/std observation normalizer inside the model (saved and exported with it)."""
    obs_clip: float = 10.0
    """Clip normalized observations to ±obs_clip."""

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> ModelOptions:
        """Cross-field rules; each field's own bounds are declared on it."""
        if rules_apply(info):
            require_all([
                (self.std_final < self.init_std,
                 f"--std-final {self.std_final} must be below --init-std {self.init_std}: "
                 "the bound falls from --init-std to --std-final"),
                (self.std_final == 0 or self.std_mode == "state_independent",
                 "--std-final bounds a learned per-action std; use --std-mode "
                 "state_independent (a state-dependent std is a network output and cannot "
                 "be bounded in place)"),
            ])
        return self


@config_dataclass
class RunOptions:
    preset: Literal["auto", "none"] = "auto"
    """auto: start from the documented per-env preset where one exists (Pendulum-v1: gamma 0.9;
    RobotPPO/CartPole-v0: steps 100000; RobotPPO/Quadruped-v0: the docs/robots.md walking
    settings; see robot_ppo/train/config.py PRESETS); none: plain
    defaults."""
    steps: Annotated[int, Field(ge=1)] = 200_000
    """Total env steps to train for (summed over envs), rounded up to whole iterations of
    envs × rollout_steps; with --resume, the total including the checkpoint's steps."""
    envs: Annotated[int, Field(ge=1)] = 8
    """Number of parallel environments, per rank under torchrun (docs/distributed.md): the
    global batch is ranks × envs × rollout_steps, and --minibatch-size is per rank too."""
    rollout_steps: Annotated[int, Field(ge=1)] = 256
    """Steps per env per iteration (batch = envs × rollout_steps)."""
    seed: int = 0
    """Seed for python, numpy, torch and the envs (env i gets seed + i)."""
    out: Path | None = None
    """Run directory (default: runs/<robot-or-env>-<timestamp>)."""
    resume: Path | None = None
    """Continue from this checkpoint: weights, optimizer, normalizer, step count and the
    run's settings (options given now override them; docs/training.md)."""
    overwrite: bool = False
    """Replace the run in a non-empty --out: its files are removed first (refused for the
    directory that --resume continues, which is continued in place without it)."""
    checkpoint_every: int = 10
    """Write DIR/checkpoint.pt every this many iterations (and always at the end)."""
    return_window: int = 20
    """Mean return = mean over the last this many finished training episodes."""
    workers: int = -1
    """Env stepping processes: 0 or 1 = all envs in this process; W >= 2 = this process plus
    W-1 workers; -1 = auto (in-process unless >= 4 cores and a batch of env steps > 1 ms;
    always in-process under torchrun, where the ranks fill the cores)."""
    torch_threads: int = 1
    """torch intra-op threads (0 = torch's default). 1 is fastest for small MLPs."""
    progress: bool = True
    """Show a progress bar (only when stderr is a terminal)."""
    tensorboard: bool = True
    """Write TensorBoard scalars to DIR/tb (metrics.csv is always written)."""


@config_dataclass
class TrainConfig:
    environment: EnvOptions = dataclasses.field(default_factory=EnvOptions)
    """What to train on: a robot or a gymnasium env, its dynamics, automatic domain
    randomization (ADR)."""
    model: ModelOptions = dataclasses.field(default_factory=ModelOptions)
    """The actor-critic's shape and its exploration std."""
    ppo: PPOParams = dataclasses.field(default_factory=PPOParams)
    """The PPO update."""
    run: RunOptions = dataclasses.field(default_factory=RunOptions)
    """How long, where and how this run goes."""

    @classmethod
    def flat(cls, **values: Any) -> TrainConfig:
        """The defaults with options set by their flat names (`TrainConfig.flat(lr=1e-3,
        envs=2)`), as the command line names them."""
        return with_values(cls(), **values)


# Documented per-env starting points (preset=auto). Pendulum's reward is dense and
# short-horizon: γ = 0.9 (as in the RL Zoo recipe) learns the swing-up much faster.
# The cartpole robot balances (return 500/500) after ~60k steps; 100k leaves margin and
# keeps `robot-ppo train --robot cartpole` under 2 minutes on 2 cores.
# The quadruped walks at the commanded speed after 1.8M steps with these settings
# (docs/robots.md: 16 envs × 128 steps, 5 epochs of 512-sample minibatches, lr 1e-3,
# an ELU 128-128 net, initial std 0.5; close to legged_gym's A1 recipe scaled to 2 cores).
QUADRUPED_PRESET: dict[str, Any] = {
    "steps": 1_800_000, "envs": 16, "rollout_steps": 128, "minibatch_size": 512, "epochs": 5,
    "lr": 1e-3, "hidden": (128, 128), "activation": "elu", "init_std": 0.5, "ent_coef": 0.005,
}
PRESETS: dict[str, dict[str, Any]] = {
    "Pendulum-v1": {"gamma": 0.9},
    "RobotPPO/CartPole-v0": {"steps": 100_000},
    "RobotPPO/Quadruped-v0": QUADRUPED_PRESET,
}


REMOVED: dict[str, tuple[Any, str]] = {
    "adr_corner": (0.0, "hard-corner ADR episodes"),
    "adr_anchor": (0.0, "ADR anchor episodes from the plain-DR ranges"),
    "adr_min_reference": (0.2, "its value is now fixed at 0.2"),
    "adr_probe_envs": (0, "mean-action ADR probe envs"),
}
"""Options that `robot-ppo train` no longer has: name -> (the value that behaves as the
option's absence, what it was). Only rejected rows of the robustness bench used them
(docs/robustness_history.md). Given now they are refused; in a --resume checkpoint's
config they are ignored, with a note unless they hold that value."""


def preset_for(env_id: str | None) -> dict[str, Any]:
    return dict(PRESETS.get(env_id or "", {}))
