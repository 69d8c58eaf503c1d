"""`robot-ppo export CHECKPOINT [-o policy.onnx] [--opset N]`: checkpoint → ONNX policy.

The graph holds the observation normalizer, the actor mean and the action mapping; see
deploy/export.py for the contract and docs/deploy.md for the metadata. Parity observations:
1,000 random ones plus recorded ones, gathered by running the policy deterministically in
the training environment (the simulator for robots, gymnasium otherwise); when that is not
importable, samples from the checkpoint's normalizer statistics stand in for them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np

from robot_ppo.cli_config import Cli, config_dataclass, parse_config
from robot_ppo.errors import UserError

DESCRIPTION = """\
Export a checkpoint's actor to ONNX with the observation normalizer and the action scaling
and clipping inside the graph. Checks the graph with onnx.checker (full_check) and compares
onnxruntime with torch on >= 1,000 observations (|diff| <= 1e-5 · max(1, |value|)) before
writing.

examples:
  robot-ppo export runs/cartpole/checkpoint.pt -o policy.onnx
  robot-ppo export runs/cartpole/checkpoint.pt --opset 17
"""


@config_dataclass(frozen=True)
class ExportConfig:
    checkpoint: Annotated[Path, Cli(positional=True)] = Path("checkpoint.pt")
    """Checkpoint to export (also accepted as the first positional argument)."""
    output: Annotated[Path, Cli(short="-o")] = Path("policy.onnx")
    """Where to write the ONNX file (-o)."""
    opset: int = 17
    """ONNX opset of the graph."""
    random_obs: int = 1000
    """Random observations in the parity check."""
    recorded_steps: int = 1000
    """Observations recorded by running the policy in its environment for the parity check."""
    seed: int = 0
    """Seed of the random and recorded observations."""
    no_sim: bool = False
    """Skip the environment rollout; use normalizer-statistics samples as recorded obs."""


def record_observations(ckpt: dict[str, Any], actor: Any, steps: int, seed: int,
                        log: Any) -> np.ndarray | None:
    """Observations seen while running the deterministic policy in its training env."""
    import torch

    try:
        if ckpt["spec"] is not None:
            import sim
            from robot_ppo.spec import spec_from_dict
            env = sim.make_env(spec_from_dict(ckpt["spec"]), dynamics="nominal")
        else:
            import gymnasium as gym
            env = gym.make(ckpt["env_id"], **dict(ckpt.get("env_kwargs") or {}))
    except Exception as exc:  # no simulator here, or the env cannot be built
        log(f"export: no environment for recorded observations ({exc}); using samples "
            "from the normalizer statistics")
        return None
    low, high = np.asarray(ckpt["action_low"]), np.asarray(ckpt["action_high"])
    rows = []
    try:
        obs, _ = env.reset(seed=seed)
        with torch.inference_mode():
            for _ in range(steps):
                rows.append(np.asarray(obs, dtype=np.float64).reshape(-1))
                mean = actor.actor_mean(torch.as_tensor(obs, dtype=torch.float32)[None])
                action = np.clip(mean[0].numpy(), low, high)
                obs, _, term, trunc, _ = env.step(action)
                if term or trunc:
                    obs, _ = env.reset()
    finally:
        env.close()
    return np.stack(rows)


def main(argv: list[str]) -> int:
    cfg = parse_config(ExportConfig, argv, "robot-ppo export", DESCRIPTION)
    from deploy.export import export_policy, normalizer_samples, random_samples
    from robot_ppo.spec import spec_from_dict
    from robot_ppo.train.checkpoint import build_model, load_checkpoint

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if cfg.opset < 9:
        raise UserError(f"--opset {cfg.opset} is too old; use 13 or newer (default 17).")
    if cfg.output.is_dir():  # found now, not after the export and the parity check
        raise UserError(f"-o {str(cfg.output)!r} is a directory; give the file to write, e.g. "
                        f"-o {str(cfg.output / 'policy.onnx')!r}.")
    ckpt = load_checkpoint(cfg.checkpoint)
    actor = build_model(ckpt)
    spec = spec_from_dict(ckpt["spec"], origin=f"{cfg.checkpoint} (spec)") \
        if ckpt["spec"] is not None else None
    obs_dim, act_dim = int(ckpt["obs_dim"]), int(ckpt["act_dim"])
    rng = np.random.default_rng(cfg.seed)
    recorded = None if cfg.no_sim else record_observations(ckpt, actor, cfg.recorded_steps,
                                                           cfg.seed, log)
    if recorded is None:
        recorded = normalizer_samples(actor, obs_dim, max(cfg.recorded_steps, 1), rng)
        source = "normalizer statistics"
    else:
        source = "environment rollout"
    obs = np.concatenate([random_samples(obs_dim, max(cfg.random_obs, 1000), rng), recorded])
    path, stats = export_policy(
        actor, obs_dim=obs_dim, act_dim=act_dim, spec=spec,
        action_low=list(ckpt["action_low"]), action_high=list(ckpt["action_high"]),
        out_path=cfg.output, parity_obs=obs, env_id=str(ckpt["env_id"]),
        training_config=dict(ckpt["config"]), opset=cfg.opset)
    print(f"exported {path} (opset {cfg.opset}, robot {spec.name if spec else ckpt['env_id']}); "
          f"parity over {int(stats['n_obs'])} observations ({source} + random): "
          f"max |diff| / max(1, |value|): "
          f"targets {stats['targets']:.1e}, mean {stats['action_mean']:.1e}, "
          f"std {stats['action_std']:.1e}")
    return 0
