"""The fine-tuning run: owns the loop, the metrics files and the output checkpoint.

    checkpoint.pt   same format as training's (export works on it unchanged); lineage:
                    {"parent", "parent_sha256", "rollouts": [{"path", "sha256"}],
                     "kind": "finetune", "finetune_config", "kl_to_parent"}
    metrics.csv     one row per phase (warmup, then each iteration)
    summary.json    final KL, β, clip fraction, value loss, logged returns, wall time
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robot_ppo.algo.models import AnyActorCritic
from robot_ppo.algo.ppo import NonFiniteLossError
from robot_ppo.atomic_write import atomic_write
from robot_ppo.cli_config import config_to_dict
from robot_ppo.errors import UserError
from robot_ppo.finetune.config import FinetuneConfig
from robot_ppo.finetune.finetuner import MIN_USABLE_STEPS, FinetuneParams, Finetuner
from robot_ppo.finetune.segments import ScoreFn, Segment, episode_returns, segments_from_rollouts
from robot_ppo.finetune.sim_rollouts import SimCollector
from robot_ppo.rollout_format import RolloutData, sha256_file
from robot_ppo.run_dir import prepare_run_dir
from robot_ppo.train.checkpoint import (
    build_model,
    save_checkpoint,
    saved_env_state,
    state_is_finite,
)
from robot_ppo.train.saved_config import checkpoint_config

METRIC_COLUMNS = ("phase", "iteration", "kl_ref", "beta", "clip_fraction", "value_loss",
                  "policy_loss", "entropy", "is_weight_mean", "explained_variance", "rollbacks",
                  "approx_kl_prox", "robot_steps", "sim_steps")


def params_from(config: FinetuneConfig, ckpt: dict[str, Any]) -> FinetuneParams:
    """FinetuneParams from the CLI config, with γ, λ and the reward scale from the checkpoint."""
    train = checkpoint_config(ckpt.get("config")).ppo  # nested or flat (older) config
    scaler = ckpt.get("reward_scaler") or None
    scale = math.sqrt(float(scaler["var"]) + 1e-8) if scaler else 1.0
    return FinetuneParams(
        gamma=config.gamma if config.gamma is not None else train.gamma,
        gae_lambda=config.gae_lambda if config.gae_lambda is not None else train.gae_lambda,
        clip=config.clip, is_clip=config.is_clip, vf_coef=config.vf_coef,
        ent_coef=config.ent_coef, max_grad_norm=config.max_grad_norm, epochs=config.epochs,
        minibatch_size=config.minibatch_size, lr=config.lr, kl_coef=config.kl_coef,
        kl_bound=config.kl_bound, adaptive_kl=config.adaptive_kl, reward_scale=scale,
        seq_len=train.seq_len)


def check_model(model: AnyActorCritic) -> None:
    """Refuse a model that robot logs cannot support."""
    if model.critic_obs_dim:
        raise UserError(f"this checkpoint's critic takes {model.critic_obs_dim} privileged "
                        "inputs (trained with --privileged true), which robot logs do not "
                        "hold, so its values cannot be computed on them. Fine-tune a checkpoint "
                        "trained without privileged inputs.")


FINETUNE_WAYS_OUT = "choose a new --out, or replace that run with --overwrite"


def out_dir_rule(config: FinetuneConfig, ckpt_path: Path) -> dict[str, Any]:
    """Keyword arguments of robot_ppo/run_dir.py's check for fine-tuning's --out: never the
    reference checkpoint's directory (the reference stays frozen, issue 25 item 1), and
    --overwrite never removes an input."""
    return {"overwrite": config.overwrite, "ways_out": FINETUNE_WAYS_OUT,
            "inputs": [ckpt_path, *map(Path, config.rollouts)], "forbidden": ckpt_path.parent,
            "forbidden_why": f"it holds the reference checkpoint {str(ckpt_path)!r}, which "
                             "fine-tuning keeps frozen"}


def _train(ft: Finetuner, segments: list[Segment], config: FinetuneConfig, n_robot: int,
           sim_collector: SimCollector | None, log: Callable[[str], None]
           ) -> tuple[list[dict[str, Any]], dict[str, float], dict[str, float], int]:
    """Critic warm-up, then the policy iterations; (metrics rows, warm-up stats, the last
    iteration's stats, sim steps per iteration). Writes nothing."""
    model = ft.model
    rows: list[dict[str, Any]] = []
    warm = ft.warmup_value(segments, config.value_warmup_epochs) if \
        config.value_warmup_epochs > 0 else {"value_loss": float("nan"),
                                             "explained_variance": float("nan")}
    rows.append({"phase": "warmup", "iteration": 0, "robot_steps": n_robot, "sim_steps": 0,
                 **warm})
    log(f"value warm-up ({config.value_warmup_epochs} epochs): value loss "
        f"{warm['value_loss']:.4f}, explained variance {warm['explained_variance']:.3f}")

    n_sim = 0
    if sim_collector is not None and config.sim_mix > 0:
        n_sim = round(config.sim_mix / (1.0 - config.sim_mix) * n_robot)
    stats: dict[str, float] = {}
    for it in range(1, config.iterations + 1):
        batch_segments: list[Segment] = list(segments)
        if n_sim and sim_collector is not None:
            batch_segments += sim_collector.collect(model, n_sim)
        stats = ft.update(ft.make_batch(batch_segments))
        rows.append({"phase": "policy", "iteration": it, "robot_steps": n_robot,
                     "sim_steps": n_sim, **stats})
        log(f"iter {it}/{config.iterations}: KL(π‖π_ref) {stats['kl_ref']:.4f} "
            f"(bound {config.kl_bound}), β {stats['beta']:.3g}, clip frac "
            f"{stats['clip_fraction']:.3f}, value loss {stats['value_loss']:.4f}, "
            f"IS weight {stats['is_weight_mean']:.3f}")
    return rows, warm, stats, n_sim


def _metrics_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _usable_segments(data: RolloutData, score: ScoreFn, log: Callable[[str], None]
                     ) -> tuple[list[Segment], int, np.ndarray]:
    """The rollouts' scored segments, their usable step count and the logged episode returns;
    UserError when too few steps were recorded, or none with exploration."""
    for run in data.report.empty_runs:
        log(f"note: skipped {run}: it recorded no steps (stopped or killed before its first "
            "chunk was written)")
    segments = segments_from_rollouts(data, score)
    n_robot = sum(len(s) for s in segments)
    if n_robot < MIN_USABLE_STEPS:
        raise UserError(
            f"the rollouts hold {n_robot} usable step(s) ({data.report.summary()}); "
            f"fine-tuning needs at least {MIN_USABLE_STEPS} (MIN_USABLE_STEPS: the advantages "
            "are normalized by their spread over the batch). An episode cut short gives one "
            "step less than it logged (its last step only bootstraps); record longer runs "
            "with `robot-ppo run --explore SCALE --log-dir DIR`.")
    if not any(np.isfinite(s.behaviour_logp).any() for s in segments):
        raise UserError("the rollouts were recorded without exploration (no log-probabilities "
                        "logged): record them with `robot-ppo run --explore SCALE` (e.g. 1.0).")
    logged = episode_returns(segments)
    log(f"rollouts: {len(data.episodes)} episodes, {n_robot} usable steps, mean logged return "
        f"{logged.mean():.2f} ({data.report.summary()})")
    return segments, n_robot, logged


def run_finetune(ckpt: dict[str, Any], ckpt_path: Path, data: RolloutData, score: ScoreFn,
                 config: FinetuneConfig, out_dir: Path,
                 sim_collector: SimCollector | None = None,
                 log: Callable[[str], None] = print,
                 start: tuple[dict[str, Any], Path] | None = None) -> dict[str, Any]:
    """Fine-tune the checkpoint's policy on `data`; writes out_dir (see module doc) only once
    it has a finite result (UserError otherwise, with nothing written: issue 25 item 3).
    `start` (checkpoint, path): begin from these weights instead of the reference's, still
    leashed to the reference (`robot-ppo adapt`'s later rounds)."""
    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    if config.torch_threads > 0:
        torch.set_num_threads(config.torch_threads)
    model = build_model(start[0] if start is not None else ckpt)
    check_model(model)
    segments, n_robot, logged = _usable_segments(data, score, log)

    params = params_from(config, ckpt)
    reference = build_model(ckpt)
    model.train()
    gen = torch.Generator().manual_seed(config.seed)
    ft = Finetuner(model, reference, params, generator=gen)
    try:
        rows, warm, stats, n_sim = _train(ft, segments, config, n_robot, sim_collector, log)
        final = ft.make_batch(segments)
        final_kl = ft.kl_to_reference(final.robot_obs, final.robot_starts)
    except NonFiniteLossError as exc:
        raise UserError(f"{exc} (NaN or inf): fine-tuning stopped and wrote nothing, the "
                        "reference checkpoint and --out are untouched. Lower --lr (now "
                        f"{config.lr:g}) or --kl-coef, or check the logs for NaN/inf "
                        "values.") from None
    if not state_is_finite(model.state_dict()) or not math.isfinite(final_kl):
        raise UserError("fine-tuning ended with non-finite weights: it wrote nothing, the "
                        f"reference checkpoint and --out are untouched. Lower --lr (now "
                        f"{config.lr:g}).")
    # only now, with a result to write, is an old run in --out replaced (--overwrite)
    prepare_run_dir(out_dir, **out_dir_rule(config, ckpt_path))
    atomic_write(out_dir / "metrics.csv", _metrics_csv(rows))

    rollout_files = [{"path": f, "sha256": sha256_file(f)} for f in data.files]
    lineage = {"parent": str(ckpt_path), "parent_sha256": sha256_file(ckpt_path),
               "rollouts": rollout_files, "kind": "finetune",
               "finetune_config": config_to_dict(config), "kl_to_parent": final_kl,
               "parent_lineage": ckpt.get("lineage")}
    if start is not None:
        lineage["started_from"] = {"path": str(start[1]), "sha256": sha256_file(start[1])}
    model.eval()
    ckpt_out = save_checkpoint(
        out_dir / "checkpoint.pt", model=model, optimizer=None, config=ckpt["config"],
        env_id=ckpt["env_id"], env_kwargs=ckpt["env_kwargs"], spec=ckpt["spec"],
        spec_hash=ckpt["spec_hash"], action_low=ckpt["action_low"],
        action_high=ckpt["action_high"], env_steps=ckpt["env_steps"],
        iteration=ckpt["iteration"], lineage=lineage, reward_scaler=ckpt.get("reward_scaler"),
        env_state=saved_env_state(ckpt))  # a later sim --resume continues the parent's ADR
    summary = {
        "checkpoint": str(ckpt_out), "parent": str(ckpt_path), "kl_to_reference": final_kl,
        "kl_bound": config.kl_bound, "kl_within_bound": final_kl <= config.kl_bound,
        "beta": ft.beta, "rollbacks": ft.rollbacks,
        "clip_fraction": stats.get("clip_fraction"), "value_loss": stats.get("value_loss"),
        "warmup": warm, "episodes": len(data.episodes), "robot_steps": n_robot,
        "sim_steps_per_iteration": n_sim, "mean_logged_return": float(logged.mean()),
        "rollout_report": asdict(data.report), "params": asdict(params),
        "wall_s": time.perf_counter() - t0,
    }
    atomic_write(out_dir / "summary.json", json.dumps(summary, indent=1, default=str))
    log(f"final KL(π‖π_ref) {final_kl:.4f} ≤ {config.kl_bound}: {final_kl <= config.kl_bound}; "
        f"wrote {ckpt_out}")
    return summary
