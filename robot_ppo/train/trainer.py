"""The training loop owner: envs, the PPO verbs in order, logging, checkpoints, progress.

The math lives in `robot_ppo.algo`; this file never computes a loss. Envs arrive as a
factory (`EnvSource`), so the trainer never imports the simulator.

Files written to the run directory:
    config.yaml     the TrainConfig (sections nested; loads back with --config), and under
                    `recorded` the env id, env kwargs, robot and spec hash
    metrics.csv     one row per iteration (columns in logger.COLUMNS)
    tb/             TensorBoard scalars (same values)
    checkpoint.pt   every `checkpoint_every` iterations and at the end (see checkpoint.py)
    summary.json    env_steps, wall_s, env_steps_per_s, mean_return, env_id, robot, ...

Action handling: the policy acts in its own unbounded space; actions are clipped to the
env's Box bounds only when stepping the env (robot envs use [-1, 1]; Pendulum [-2, 2]).
The stored action and its log-prob are the unclipped sample, so the ratio stays exact.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.models import AnyActorCritic, model_from_config
from robot_ppo.algo.ppo import PPO, NonFiniteLossError
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.atomic_write import atomic_write
from robot_ppo.cli_config import RECORDED
from robot_ppo.errors import UserError
from robot_ppo.train.checkpoint import (
    load_checkpoint,
    save_checkpoint,
    saved_env_state,
    state_is_finite,
)
from robot_ppo.train.config import TrainConfig
from robot_ppo.train.distributed import Distributed
from robot_ppo.train.distributed_sync import (
    IterationSync,
    is_collective_failure,
    lost_rank_error,
)
from robot_ppo.train.env_state import (
    current_env_state,
    log_note,
    restore_notes,
    resume_factory,
)
from robot_ppo.train.logger import MetricsLogger
from robot_ppo.train.saved_config import config_dict
from robot_ppo.train.seeding import seed_everything, set_torch_threads
from robot_ppo.train.std_schedule import StdCap
from robot_ppo.train.vec_env import EnvFactory, VecEnv, mean_metrics


@dataclass
class EnvSource:
    """Where envs come from: a picklable factory plus what to record about it."""

    factory: EnvFactory
    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    robot: str | None = None
    spec: dict[str, Any] | None = None
    spec_hash: str | None = None
    with_env_state: Callable[[dict[str, Any]], EnvFactory] | None = None
    """A factory whose envs start from a checkpoint's `env_state` (robot envs; see
    train/env_state.py); None: the envs keep no state to restore."""

    @property
    def name(self) -> str:
        return self.robot or self.env_id.replace("/", "_")


def check_writable(out_dir: Path) -> None:
    """Fail before training, not after an hour, when the run directory is unusable."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"cannot write to the output directory {str(out_dir)!r}: "
                        f"{exc.strerror or exc}. Choose another with --out DIR.") from None


class Trainer:
    """Builds envs, model and PPO from a TrainConfig, then `run()` trains and writes files.

    `on_iteration(row)` is called after each iteration with the metrics row; returning
    True stops training early (the final checkpoint and summary are still written).

    `dist`: this process's rank under torchrun (train/distributed.py); each rank steps
    config.envs envs of its own and only rank 0 writes files. None: one process.
    """

    def __init__(self, config: TrainConfig, source: EnvSource, out_dir: Path,
                 on_iteration: Callable[[dict[str, float]], bool | None] | None = None,
                 dist: Distributed | None = None) -> None:
        self.config = config
        self.source = source
        self.out_dir = out_dir
        self.on_iteration = on_iteration
        self.dist = dist if dist is not None else Distributed()
        set_torch_threads(config.run.torch_threads)
        # rank r: its own minibatch shuffles and exploration noise; rank 0 keeps `seed`, so
        # one process is unchanged (weights come from rank 0 in any case)
        seed_everything(config.run.seed + RANK_SEED_STRIDE * self.dist.rank)
        resume = load_checkpoint(config.run.resume) if config.run.resume is not None else None

        workers = config.run.workers
        if self.dist.active and workers == -1:
            workers = 0  # auto under torchrun: the ranks already fill the cores
        self.venv = VecEnv(resume_factory(source, resume), config.run.envs,
                           workers=workers, privileged=config.environment.privileged)
        v = self.venv
        model = self._build_model(resume)
        self.model = model
        self.std_cap: StdCap | None = None
        if config.model.std_final > 0:
            if model.log_std is None:
                v.close()
                raise UserError("--std-final bounds a learned per-action std, and this model "
                                "has a state-dependent one (std_mode state_dependent, from "
                                "the checkpoint); train without --std-final")
            self.std_cap = StdCap(model.init_std, config.model.std_final,
                                  max(1, round(config.model.std_final_at * config.run.steps)))
        self.ppo = PPO(model, config.ppo, config.run.envs, config.run.rollout_steps)
        self.sync = IterationSync(self.dist, self.ppo, model) if self.dist.active else None
        self.env_steps = 0
        self.iteration = 0
        self.parent: str | None = None
        if resume is not None:
            if resume.get("optimizer_state") is not None:
                self.ppo.optimizer.load_state_dict(resume["optimizer_state"])
                # the config's lr wins unless the schedule is adaptive (then continue it)
                lr = (resume["optimizer_state"]["param_groups"][0]["lr"]
                      if config.ppo.kl_mode == "adaptive" else config.ppo.lr)
                self.ppo._set_lr(lr)
            if self.ppo.reward_scaler is not None and resume.get("reward_scaler"):
                self.ppo.reward_scaler.load_state_dict(resume["reward_scaler"])
            self.env_steps = int(resume["env_steps"])
            self.iteration = int(resume["iteration"])
            self.parent = str(config.run.resume)
        if self.sync is not None:
            try:
                self.sync.start(self.venv)  # rank 0's weights, normalizers, optimizer, env state
            except BaseException as exc:
                self.close_envs()
                if isinstance(exc, RuntimeError) and is_collective_failure(exc):
                    raise lost_rank_error(exc, self.dist, None) from None
                raise
        self.checkpoint_path = out_dir / "checkpoint.pt"
        self.last_good_checkpoint: Path | None = (
            Path(config.run.resume) if config.run.resume is not None else None)
        self.returns: deque[float] = deque(maxlen=max(1, config.run.return_window))
        self.lengths: deque[int] = deque(maxlen=max(1, config.run.return_window))
        # env-reported info["episode_metrics"] (e.g. adr/entropy), averaged like returns
        self.episode_metrics: deque[dict[str, float]] = deque(
            maxlen=max(1, config.run.return_window))
        # last: every input is checked before the run directory is created (issue 25 item 4)
        try:
            if self.dist.is_main:  # other ranks never write (and may not share the disk)
                check_writable(out_dir)
        except UserError:
            self.close_envs()
            raise

    def _build_model(self, resume: dict[str, Any] | None) -> AnyActorCritic:
        """The resumed checkpoint's model (its shapes checked against this env), or a new one
        from the model config. Closes the envs before any UserError."""
        v = self.venv
        if resume is not None:
            if (resume["obs_dim"], resume["act_dim"]) != (v.obs_dim, v.act_dim):
                v.close()
                raise UserError(
                    f"checkpoint {str(self.config.run.resume)!r} was trained with obs_dim="
                    f"{resume['obs_dim']}, act_dim={resume['act_dim']} on "
                    f"{resume['env_id']!r}; this env has obs_dim={v.obs_dim}, "
                    f"act_dim={v.act_dim}.")
            for note in restore_notes(v, saved_env_state(resume)):
                log_note(note)
            model: AnyActorCritic = model_from_config(resume["model_config"])
            model.load_state_dict(resume["model_state"])
        elif (m := self.config.model).recurrent == "gru":
            model = RecurrentActorCritic(
                v.obs_dim, v.act_dim, rnn_hidden=m.rnn_hidden, hidden=m.hidden,
                activation=m.activation, std_mode=m.std_mode, init_std=m.init_std,
                critic_obs_dim=v.priv_dim or None, normalize_obs=m.normalize_obs,
                obs_clip=m.obs_clip)
        else:
            model = ActorCritic(
                v.obs_dim, v.act_dim, hidden=m.hidden, activation=m.activation,
                std_mode=m.std_mode, init_std=m.init_std, critic_obs_dim=v.priv_dim or None,
                normalize_obs=m.normalize_obs, obs_clip=m.obs_clip)
        return model

    def close_envs(self) -> None:
        """Close the env workers (run() does this itself when it ends)."""
        self.venv.close()

    # ---- files --------------------------------------------------------------------------
    def write_config(self) -> None:
        # the options (loadable with --config), then what they resolved to (ignored there)
        data = {**config_dict(self.config), RECORDED: {
            "env_id": self.source.env_id, "env_kwargs": self.source.env_kwargs,
            "robot": self.source.robot, "spec_hash": self.source.spec_hash}}
        atomic_write(self.out_dir / "config.yaml", yaml.safe_dump(data, sort_keys=False))

    def save(self) -> Path:
        """Checkpoint now; never replaces a good file with non-finite weights."""
        v = self.venv
        scaler = self.ppo.reward_scaler
        try:
            save_checkpoint(
                self.checkpoint_path, model=self.model, optimizer=self.ppo.optimizer,
                config=config_dict(self.config), env_id=self.source.env_id,
                env_kwargs=self.source.env_kwargs, spec=self.source.spec,
                spec_hash=self.source.spec_hash, action_low=v.action_low.tolist(),
                action_high=v.action_high.tolist(), env_steps=self.env_steps,
                iteration=self.iteration, lineage={"parent": self.parent},
                reward_scaler=None if scaler is None else scaler.state_dict(),
                env_state=current_env_state(v))
        except FloatingPointError:
            self._nan_stop("the model weights became NaN/inf")
        self.last_good_checkpoint = self.checkpoint_path
        return self.checkpoint_path

    def _nan_stop(self, what: str) -> None:
        good = (f"The last good checkpoint is {str(self.last_good_checkpoint)!r}."
                if self.last_good_checkpoint else "No checkpoint was written before it.")
        raise UserError(f"training stopped at iteration {self.iteration + 1} "
                        f"({self.env_steps} env steps): {what}. {good} Try a lower --lr, "
                        "--max-grad-norm, or check the env's rewards/observations for NaN.")

    # ---- the loop -----------------------------------------------------------------------
    def collect(self, obs: np.ndarray, priv: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """One rollout of T steps in all envs; returns the observation that follows it."""
        ppo, v = self.ppo, self.venv
        low, high = v.action_low, v.action_high
        # this rollout's finished episodes; under torchrun every rank's, in rank order
        returns: list[float] = []
        lengths: list[int] = []
        metrics: list[dict[str, float]] = []
        if self.sync is not None:
            self.sync.begin_iteration()
        for _ in range(self.config.run.rollout_steps):
            actions = ppo.act(obs, priv)
            step = v.step(np.clip(actions, low, high))
            ppo.process_step(step.rewards, step.terminated, step.truncated, step.final_obs,
                             step.final_privileged)
            if step.episode_returns:
                returns.extend(step.episode_returns)
                lengths.extend(step.episode_lengths)
            metrics.extend(step.episode_metrics)
            obs, priv = step.obs, step.privileged
        if self.sync is not None:  # normalizers, reward scale, episodes, env state: merged
            returns, lengths, metrics = self.sync.end_rollout(returns, lengths, metrics, v)
        self.returns.extend(returns)
        self.lengths.extend(lengths)
        self.episode_metrics.extend(metrics)
        ppo.compute_returns(obs, priv)
        return obs, priv

    def _bound_std(self) -> dict[str, float]:
        """Project the policy's std under --std-final's bound at the current step, after each
        update, so every rollout and every checkpoint has σ <= bound; the bound's metric."""
        if self.std_cap is None:
            return {}
        return {"policy/std_cap": self.std_cap.apply(self.model, self.env_steps)}

    def mean_return(self) -> float:
        return float(np.mean(self.returns)) if self.returns else float("nan")

    def run(self) -> dict[str, Any]:
        """Train; under torchrun a lost rank ends every other rank with a UserError."""
        if self.sync is None:
            return self._run()
        try:
            return self._run()
        except RuntimeError as exc:
            if not is_collective_failure(exc):
                raise
            raise lost_rank_error(exc, self.dist, self.last_good_checkpoint) from None

    def _run(self) -> dict[str, Any]:
        cfg = self.config
        main = self.dist.is_main
        if main:
            self.write_config()
        logger = (MetricsLogger(self.out_dir, cfg.run.tensorboard,
                                append=cfg.run.resume is not None) if main else None)
        # global batch: every rank's envs (one process: envs × rollout_steps)
        batch = cfg.run.envs * cfg.run.rollout_steps * self.dist.world_size
        start_steps = self.env_steps
        # training runs whole iterations, so the bar's total is --steps rounded up to them
        total = -(-cfg.run.steps // batch) * batch
        progress = _progress_bar(cfg, total=total, initial=self.env_steps) if main else None
        t0 = time.perf_counter()
        try:
            # env i of rank r is seeded like env r·envs + i of one process with all of them
            obs, priv = self.venv.reset(cfg.run.seed + self.dist.rank * cfg.run.envs)
            self._bound_std()  # a resumed run's std may lie above the bound at its step
            while self.env_steps < cfg.run.steps:
                obs, priv = self.collect(obs, priv)
                try:
                    losses = self.ppo.update()
                except NonFiniteLossError as exc:
                    self._nan_stop(str(exc))
                self.env_steps += batch
                self.iteration += 1
                std_row = self._bound_std()
                wall = time.perf_counter() - t0
                row: dict[str, float] = {
                    "iteration": self.iteration, "env_steps": self.env_steps,
                    "wall_s": wall, "steps_per_s": (self.env_steps - start_steps) / wall,
                    "episode_return": self.mean_return(),
                    "episode_length": float(np.mean(self.lengths)) if self.lengths
                    else float("nan"), **losses, **mean_metrics(self.episode_metrics),
                    **std_row}
                if logger is not None:
                    logger.log(row)
                stop = bool(self.on_iteration(row)) if self.on_iteration is not None else False
                if self.sync is not None:
                    stop = bool(self.dist.broadcast_object(stop))  # rank 0 decides
                if progress is not None:
                    progress.update(batch)
                    progress.set_postfix(sps=f"{row['steps_per_s']:.0f}",
                                         ret=f"{row['episode_return']:.1f}")
                if not state_is_finite(self.model.state_dict()):
                    self._nan_stop("the model weights became NaN/inf")
                if main and cfg.run.checkpoint_every > 0 \
                        and self.iteration % cfg.run.checkpoint_every == 0:
                    self.save()
                if stop:
                    break
            if main:
                self.save()
        finally:
            if progress is not None:
                progress.close()
            if logger is not None:
                logger.close()
            self.venv.close()
        wall = time.perf_counter() - t0
        summary = {
            "env_id": self.source.env_id, "robot": self.source.robot,
            "env_steps": self.env_steps, "iterations": self.iteration,
            "wall_s": round(wall, 3),
            "env_steps_per_s": round((self.env_steps - start_steps) / max(wall, 1e-9), 1),
            "mean_return": _json_float(self.mean_return()),
            "mean_episode_length": _json_float(float(np.mean(self.lengths))
                                               if self.lengths else float("nan")),
            "episodes_in_mean": len(self.returns), "seed": cfg.run.seed,
            "checkpoint": str(self.checkpoint_path), "lineage": {"parent": self.parent},
            "world_size": self.dist.world_size, "global_batch": batch,
        }
        if main:
            atomic_write(self.out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
        return summary


RANK_SEED_STRIDE = 1_000_003
"""Rank r seeds python, numpy and torch with seed + r·RANK_SEED_STRIDE (a prime far above
any env count, so no rank's RNGs repeat another's env seeds)."""


def _json_float(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def _progress_bar(cfg: TrainConfig, total: int, initial: int) -> Any:
    if not cfg.run.progress or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, unit="step", unit_scale=True,
                dynamic_ncols=True, desc="train")
