"""`robot-ppo train`: build the env source from --robot/--env, then hand over to the Trainer.

This is the CLI layer, the one place of the training stack allowed to import the
simulator (lazily, and only for robots). Presets: see robot_ppo/train/config.py.
"""

from __future__ import annotations

import functools
import importlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robot_ppo.errors import UserError

if TYPE_CHECKING:
    from sim.adr import AdrConfig

DESCRIPTION = """\
Train a PPO policy on a robot spec (--robot NAME|FILE, default cartpole) or on any
gymnasium environment (--env GYM_ID). Writes DIR/config.yaml, metrics.csv, tb/,
checkpoint.pt and summary.json (DIR from --out, default runs/<robot-or-env>-<timestamp>).
A DIR that already holds files is refused: continue its run with --resume DIR/checkpoint.pt
--out DIR, choose a new --out, or replace it with --overwrite.

Per-env presets (with --preset auto): Pendulum-v1 uses gamma 0.9; the cartpole robot
(RobotPPO/CartPole-v0) uses steps 100000. Explicit options win.

examples:
  robot-ppo train --robot cartpole
  robot-ppo train --env Pendulum-v1 --steps 100000 --out runs/pendulum
  robot-ppo train --env Pendulum-v1 --resume runs/pendulum/checkpoint.pt --steps 200000
"""


def adr_settings(config: Any) -> AdrConfig:
    """The simulator's own ADR config (sim/adr.py `AdrConfig`, a picklable dataclass the
    env factories carry to the envs) from a TrainConfig's ADR options: --adr-high,
    --adr-low, --adr-sides, --adr-relative, --adr-fixed (sim/adr_dynamics.py `adr_config`)."""
    from sim.adr_dynamics import adr_config

    env = config.environment
    return adr_config(high_threshold=env.adr_high, low_threshold=env.adr_low,
                      sides=env.adr_sides, relative=env.adr_relative, fixed=env.adr_fixed)


def make_robot_env(spec_ref: str, dynamics: str, privileged: bool = False,
                   env_state: dict[str, Any] | None = None, adr_share: Any = None,
                   adr_config: AdrConfig | None = None) -> Any:
    """Env factory for robots (top level so worker processes can unpickle it); `env_state`:
    a checkpoint's env state to continue from (--resume of a `--dynamics adr` run);
    `adr_share`: the run's own ADR and curriculum (sim/adr_dynamics.py `SharedAdr`; None:
    the process's default one); `adr_config`: sim's AdrConfig (`adr_settings`; None: ADR's
    defaults)."""
    import sim  # the simulator registers its gymnasium ids on import
    from robot_ppo.spec import load_spec
    return sim.make_env(load_spec(spec_ref), dynamics=dynamics, privileged=privileged,
                        train_state=env_state, adr_share=adr_share, adr_config=adr_config)


def robot_factory_with_env_state(spec_ref: str, dynamics: str, privileged: bool,
                                 env_state: dict[str, Any], adr_share: Any = None,
                                 adr_config: AdrConfig | None = None) -> Any:
    """`make_robot_env` bound to a saved env state (EnvSource.with_env_state)."""
    return functools.partial(make_robot_env, spec_ref, dynamics, privileged, env_state,
                             adr_share, adr_config)


def gym_source(env_id: str) -> Any:
    import gymnasium as gym

    from robot_ppo.train.trainer import EnvSource
    from robot_ppo.train.vec_env import GymEnvFactory

    if env_id.startswith("RobotPPO/"):
        try:
            importlib.import_module("sim")
        except ImportError:
            raise UserError(f"{env_id!r} needs the simulator package 'sim', which is not "
                            "importable here.") from None
    try:
        gym.spec(env_id)
    except gym.error.Error as exc:
        ids = sorted(k for k in gym.registry if "/" not in k or k.startswith("RobotPPO/"))
        raise UserError(f"unknown gymnasium environment {env_id!r} ({exc}). Available: "
                        f"{', '.join(ids)}.") from None
    return EnvSource(factory=GymEnvFactory(env_id), env_id=env_id)


def robot_source(ref: str, dynamics: str, privileged: bool = False,
                 adr_config: AdrConfig | None = None) -> Any:
    """The EnvSource of a robot; `adr_config`: sim's AdrConfig for `--dynamics adr`
    (`adr_settings(config)`; None: ADR's defaults), passed through to the envs."""
    from robot_ppo.spec import load_spec
    from robot_ppo.train.trainer import EnvSource

    spec = load_spec(ref)  # UserError listing the built-in robots when unknown
    try:
        importlib.import_module("sim")
    except ImportError as exc:
        raise UserError(f"training robot {spec.name!r} needs the simulator package 'sim', "
                        f"which cannot be imported ({exc}). Use --env GYM_ID for a plain "
                        "gymnasium environment.") from None
    # what worker processes load again: the file's absolute path (their cwd may differ),
    # else the built-in's name (spec.load_spec's rule: a file path wins over a name)
    spec_ref = str(Path(ref).resolve()) if Path(ref).is_file() else spec.name
    from sim.adr_dynamics import SharedAdr

    # the run's own ADR and curriculum, shared by the envs it builds in each process, so
    # that a second training in the same Python process does not start from the first
    # one's ranges (the CLI runs one per process; notebooks and tests do not)
    share = SharedAdr()
    return EnvSource(factory=functools.partial(make_robot_env, spec_ref, dynamics, privileged,
                                               adr_share=share, adr_config=adr_config),
                     env_id=spec.gym_id,
                     env_kwargs={"dynamics": dynamics, "privileged": privileged},
                     robot=spec.name, spec=spec.to_dict(), spec_hash=spec.spec_hash,
                     with_env_state=functools.partial(robot_factory_with_env_state, spec_ref,
                                                      dynamics, privileged,
                                                      adr_share=share,
                                                      adr_config=adr_config))


def parse(argv: list[str]) -> Any:
    """TrainConfig from argv. Precedence, lowest first: defaults, the env's preset, with
    --resume the checkpoint's run settings (robot_ppo/train/resume_config.py), the user's
    --config, --set and flags."""
    from robot_ppo.cli_config import (
        apply_layers,
        apply_overrides,
        check_rules,
        given_names,
        user_options,
    )
    from robot_ppo.train.config import TrainConfig, preset_for

    refuse_removed(argv, [])  # before argparse, which would only say "unrecognized"
    layers = user_options(TrainConfig, argv, "robot-ppo train", DESCRIPTION)
    refuse_removed([], layers)

    def build(base: Any, saved: dict[str, Any]) -> Any:
        # the rules wait for the final config: the checkpoint's settings, taken only
        # after this first pass, may be what satisfies them (--adr-fixed needs its adr)
        return apply_layers(base, [(saved, "the checkpoint's config"), *layers], rules=False)

    def with_preset(saved: dict[str, Any]) -> Any:
        config = build(TrainConfig(), saved)
        if config.run.preset == "auto":
            env = config.environment
            preset = preset_for(env.env or _robot_gym_id(env.robot or "cartpole"))
            if preset:
                config = build(TrainConfig.flat(**preset), saved)
        return config

    config = with_preset({})
    if config.run.resume is None:
        return check_rules(config)
    from robot_ppo.train.checkpoint import load_checkpoint
    from robot_ppo.train.env_state import log_note
    from robot_ppo.train.resume_config import (
        ADR,
        RUN_LOCAL,
        check_model_unchanged,
        differences,
        inherited,
    )

    raw = load_checkpoint(config.run.resume).get("config")
    for note in removed_notes(raw):
        log_note(note)
    given = given_names(TrainConfig, layers)
    resumed = with_preset(inherited(raw, given))
    if resumed.environment.dynamics != "adr":  # the checkpoint's ADR options: moot now
        with_adr = resumed
        resumed = with_preset(inherited(raw, given | set(ADR)))
        dropped = [d for d in differences(resumed, with_adr) if d.split("=")[0] in ADR]
        if dropped:
            log_note(f"not continuing the checkpoint's ADR settings ({' '.join(dropped)}): "
                     f"this run trains with --dynamics {resumed.environment.dynamics}")
    held = inherited(raw, set())  # all the checkpoint's run settings, given now or not
    saved = apply_overrides(TrainConfig(), held, "the checkpoint's config")
    check_model_unchanged(saved, resumed, set(held))
    kept = [d for d in differences(config, resumed) if d.split("=")[0] not in RUN_LOCAL]
    if kept:
        log_note("continuing the checkpoint's settings: " + " ".join(kept))
    changed = [d for d in differences(saved, resumed)
               if d.split("=")[0] in given and d.split("=")[0] not in RUN_LOCAL]
    if changed:
        log_note("changed from the checkpoint's run: " + " ".join(changed))
    return check_rules(resumed)


def _removed_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _leaf_keys(values: dict[str, Any]) -> list[str]:
    """The option names a --config / --set mapping's keys end in (`environment.x` or a
    section's nested mapping: `x`)."""
    out: list[str] = []
    for key, value in values.items():
        out += (_leaf_keys(value) if isinstance(value, dict)
                else [str(key).replace("-", "_").rsplit(".", 1)[-1]])
    return out


def refuse_removed(argv: list[str], layers: list[tuple[dict[str, Any], str]]) -> None:
    """UserError for an option that `robot-ppo train` no longer has (train/config.py
    REMOVED), given as a flag in `argv` or as a key of --config / --set in `layers`."""
    from robot_ppo.train.config import REMOVED

    flags = {_removed_flag(n): n for n in REMOVED}
    given = [flags[a.split("=", 1)[0]] for a in argv if a.split("=", 1)[0] in flags]
    given += [k for values, _ in layers for k in _leaf_keys(values) if k in REMOVED]
    if given:
        name = given[0]
        raise UserError(f"{_removed_flag(name)} was removed ({REMOVED[name][1]}): only "
                        "rejected rows of the robustness bench used it "
                        "(docs/robustness_history.md). Drop it.")


def removed_notes(saved: Any) -> list[str]:
    """Notes for a --resume checkpoint whose config holds removed options at a value that
    did something: the resumed run goes on without them (they are ignored)."""
    from robot_ppo.cli_config import format_value
    from robot_ppo.train.config import REMOVED

    if not isinstance(saved, dict):
        return []
    return [f"the checkpoint was trained with {_removed_flag(n)} {format_value(saved[n])}, an "
            f"option since removed ({REMOVED[n][1]}; docs/robustness_history.md): this run "
            "continues without it" for n, (off, _) in REMOVED.items()
            if n in saved and saved[n] != off]


def _robot_gym_id(ref: str) -> str | None:
    from robot_ppo.spec import load_spec
    try:
        return load_spec(ref).gym_id
    except UserError:
        return None  # reported properly when the env source is built


def validate(config: Any) -> None:
    """The checks of a TrainConfig that need the simulator: the names of --adr-fixed on its
    robot. Every other rule is declared on TrainConfig's sections (bounds on the fields,
    cross-field rules in their model validators), so a config that exists has passed them."""
    fixed, robot = config.environment.adr_fixed, config.environment.robot or "cartpole"
    if fixed:
        from robot_ppo.spec import load_spec  # only with --dynamics adr: sim is needed
        from sim.adr_dynamics import adr_params
        from sim.randomization import PARAM_NAMES

        unknown = [n for n in fixed if n not in PARAM_NAMES]
        if unknown:
            raise UserError(f"--adr-fixed: unknown parameter(s) {', '.join(unknown)}; known: "
                            f"{', '.join(PARAM_NAMES)}")
        moved = [p.name for p in adr_params(load_spec(robot))]
        idle = [n for n in fixed if n not in moved]
        if idle:
            # naming one would do nothing: likely a typo'd intent or the wrong robot
            raise UserError(f"--adr-fixed: ADR does not move {', '.join(idle)} on robot "
                            f"{robot!r} (not randomized there, or without effect on it); "
                            f"it moves: {', '.join(moved)}")


TRAIN_WAYS_OUT = ("choose a new --out, continue that run with --resume {out}/checkpoint.pt "
                  "--out {out}, or replace it with --overwrite")


def _run_dir_rule(config: Any) -> dict[str, Any]:
    """Keyword arguments of robot_ppo/run_dir.py's check for this run's --out."""
    resume = config.run.resume
    return {"overwrite": config.run.overwrite, "ways_out": TRAIN_WAYS_OUT,
            "continuing": Path(resume).parent if resume is not None else None,
            "inputs": [Path(resume)] if resume is not None else []}


def main(argv: list[str]) -> int:
    config = parse(argv)
    validate(config)
    from robot_ppo.train.distributed import Distributed

    # torchrun (WORLD_SIZE > 1): join the process group; one process: no group at all
    dist = Distributed.from_env()
    try:
        return _train(config, dist)
    finally:
        dist.close()


def _checked_out(config: Any, dist: Any, name: str) -> Path:
    """The run directory, checked (and, by default, named) by rank 0 alone: the ranks may
    not share a disk, nor a clock for the default name. Every rank raises rank 0's
    UserError, so a refused --out ends every rank cleanly instead of leaving them waiting."""
    from robot_ppo.run_dir import check_run_dir, fresh_run_dir

    verdict: tuple[str, str] = ("", "")
    if dist.is_main:
        try:
            if config.run.out is not None:  # before any env is built or any file written
                check_run_dir(Path(config.run.out), **_run_dir_rule(config))
                out = Path(config.run.out)
            else:
                out = fresh_run_dir(Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
            verdict = ("", str(out))
        except UserError as exc:
            verdict = (str(exc), "")
    error, out_text = dist.broadcast_object(verdict)
    if error:
        raise UserError(error)
    return Path(out_text)


def _train(config: Any, dist: Any) -> int:
    from robot_ppo.run_dir import prepare_run_dir

    env = config.environment
    if config.run.out is not None:  # before any env is built: a refused --out builds nothing
        _checked_out(config, dist, "")
    if env.env:
        source = gym_source(env.env)
    else:
        source = robot_source(env.robot or "cartpole", env.dynamics, env.privileged,
                               adr_settings(config))
    out = Path(config.run.out) if config.run.out is not None else _checked_out(config, dist,
                                                                        source.name)

    import gymnasium as gym

    from robot_ppo.train.trainer import Trainer

    try:
        trainer = Trainer(config, source, out, dist=dist)
    except (gym.error.Error, ValueError) as exc:
        raise UserError(f"cannot build the environment {source.env_id!r}: {exc}") from None
    try:  # only now, with every input checked, is an old run replaced (--overwrite)
        if dist.is_main:
            prepare_run_dir(out, **_run_dir_rule(config))
    except BaseException:
        trainer.close_envs()
        raise
    summary = trainer.run()
    if not dist.is_main:
        return 0
    if dist.active:
        print(f"{dist.world_size} ranks × {config.run.envs} envs: global batch "
              f"{summary['global_batch']} env steps per iteration")
    print(f"trained {summary['env_steps']} env steps in {summary['wall_s']:.1f} s "
          f"({summary['env_steps_per_s']:.0f} steps/s); mean return "
          f"{summary['mean_return']}; run directory {out}")
    return 0
