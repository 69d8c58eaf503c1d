"""`robot-ppo eval`: evaluate a checkpoint's deterministic policy in simulation.

Loads the checkpoint (`robot_ppo.train.checkpoint`), builds the env for its robot (or for
`--robot`, which must have the same interface: spec hash and observation layout, or differ
only in name and the task params that shape only the reward, to score a policy trained with
shaping terms by the task's own reward), runs
`--episodes` episodes with the action mean on a dynamics set, and prints JSON with
mean_return, std_return, mean_length, plus success_rate for tasks that report success (reach,
walk) and the task metrics of sim/tasks/metrics.py (reach: mean_final_distance; walk:
mean_speed, mean_speed_error, mean_performance, and the gait's touchdowns_per_s and
mean_air_time). `--stochastic true` samples the actions as
training does instead (a diagnostic; the exported actor runs the mean).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from robot_ppo.cli_config import config_dataclass, parse_config
from robot_ppo.errors import UserError


@config_dataclass
class EvalConfig:
    checkpoint: Path | None = None
    """Checkpoint file written by robot-ppo train (DIR/checkpoint.pt). Required."""
    robot: str | None = None
    """Robot to evaluate on (built-in name or spec YAML). Default: the checkpoint's own spec.
    Must have the same interface (spec hash, observation layout) as the checkpoint's, or
    differ only in name and reward-only task params (walk: reward_weights, tracking_sigma,
    air_time; others: reward_weights), and then scores with this robot's reward."""
    episodes: int = 10
    """Number of episodes (seeds seed, seed+1, ...)."""
    dynamics: str = "nominal"
    """Dynamics set: nominal | randomized | shifted | a dynamics YAML file."""
    json: bool = False
    """Print only one line of JSON (machine-readable)."""
    video: Path | None = None
    """Write the first episodes to a video (.mp4 needs imageio-ffmpeg; .gif always works)."""
    video_episodes: int = 1
    """How many episodes the video shows."""
    seed: int = 0
    """Seed of the first episode."""
    stochastic: bool = False
    """Sample each action as training did, mean + σ·ε with the checkpoint's exploration noise
    (--noise white or lowpass; seeded by --seed), instead of running the mean, which is what
    the exported actor does. A diagnostic: a policy that does much better sampled than
    deterministic relies on its exploration noise, and the robot will not see that noise."""
    progress: bool = True
    """Show a progress bar over the episodes on stderr (only when stderr is a terminal, as
    train's)."""


DESCRIPTION = __doc__.split("\n\n", 1)[1] if __doc__ else ""


def check_compatible(ckpt: dict[str, Any], spec: Any) -> None:
    """Refuse a robot whose interface differs from the one the policy was trained on."""
    from robot_ppo.observation import observation_layout
    from robot_ppo.spec import spec_from_dict

    trained = spec_from_dict(ckpt["spec"], origin="checkpoint spec")
    if trained.spec_hash == spec.spec_hash:
        return
    if _without_reward_params(trained) == _without_reward_params(spec):
        # the reward is not part of the interface: a policy trained with shaping terms or
        # another tracking width can be scored with the task's own reward
        print(f"note: scoring with robot '{spec.name}''s reward {_reward_params(spec)}, "
              f"not the checkpoint's {_reward_params(trained)}", file=sys.stderr)
        return
    lay_a, lay_b = observation_layout(trained), observation_layout(spec)
    lines = [
        f"the checkpoint was trained on robot '{trained.name}' but you asked to evaluate it "
        f"on robot '{spec.name}', whose interface differs:",
        f"  spec hash:   checkpoint {trained.spec_hash[:16]}…  vs  robot {spec.spec_hash[:16]}…",
        f"  obs dim:     checkpoint {len(lay_a)}  vs  robot {len(lay_b)}",
        f"  action dim:  checkpoint {trained.act_dim}  vs  robot {spec.act_dim}",
    ]
    diff = [f"#{i}: {a} vs {b}" for i, (a, b) in enumerate(zip(lay_a, lay_b)) if a != b]
    if diff:
        lines.append("  first layout differences: " + "; ".join(diff[:3]))
    lines.append("Evaluate on the robot the policy was trained on (omit --robot), or retrain.")
    raise UserError("\n".join(lines))


def _reward_keys(spec: Any) -> frozenset[str]:
    from sim.tasks import TASKS

    task = TASKS.get(spec.task.name)
    return task.reward_params if task is not None else frozenset({"reward_weights"})


def _reward_params(spec: Any) -> dict[str, Any]:
    """The spec's reward-only task params (those its task declares, `Task.reward_params`)."""
    params = spec.task.params
    return {k: params[k] for k in sorted(_reward_keys(spec)) if k in params}


def _without_reward_params(spec: Any) -> dict[str, Any]:
    """What `spec_hash` covers, less the reward-only task params and the name."""
    data = spec.to_dict()
    data.pop("randomization", None)
    data.pop("name", None)
    for key in _reward_keys(spec):
        data["task"]["params"].pop(key, None)
    return data


def write_video(frames: list[np.ndarray], path: Path, fps: int) -> Path:
    """mp4 through imageio-ffmpeg when available, else a GIF next to it (with a note)."""
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() != ".gif":
        try:
            imageio.mimwrite(path, frames, fps=fps)  # type: ignore[arg-type]
            return path
        except Exception as exc:  # no ffmpeg backend: fall back to GIF
            gif = path.with_suffix(".gif")
            print(f"robot-ppo eval: note: cannot write {path.suffix} ({exc.__class__.__name__}: "
                  f"install imageio-ffmpeg for mp4); writing {gif} instead", file=sys.stderr)
            path = gif
    imageio.mimwrite(path, frames, duration=1.0 / fps, loop=0)  # type: ignore[arg-type]
    return path


def _progress_bar(cfg: EvalConfig) -> Any:
    """A tqdm bar over the episodes, or None (off, or stderr is not a terminal: a log file or
    a pipe would fill with carriage returns)."""
    if not cfg.progress or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    return tqdm(total=cfg.episodes, unit="episode", dynamic_ncols=True, desc="eval")


def _load_checked(cfg: EvalConfig) -> tuple[dict[str, Any], Any]:
    """The checkpoint and the spec to evaluate it on, checked to fit (UserError otherwise)."""
    from robot_ppo.spec import load_spec, spec_from_dict
    from robot_ppo.train.checkpoint import load_checkpoint

    if cfg.checkpoint is None:
        raise UserError("--checkpoint is required (a checkpoint.pt written by robot-ppo train)")
    if cfg.episodes < 1:
        raise UserError(f"--episodes must be >= 1, got {cfg.episodes}")
    ckpt = load_checkpoint(cfg.checkpoint)
    if ckpt.get("spec") is None:
        raise UserError(f"checkpoint {str(cfg.checkpoint)!r} was trained on gymnasium env "
                        f"{ckpt.get('env_id')!r}, not on a robot spec; robot-ppo eval "
                        "evaluates robot policies.")
    spec = load_spec(cfg.robot) if cfg.robot else spec_from_dict(ckpt["spec"],
                                                                  origin="checkpoint spec")
    check_compatible(ckpt, spec)
    return ckpt, spec


def _policy_action(model: Any, obs: Any, state: Any, noise: Any) -> tuple[np.ndarray, Any]:
    """One action from the policy (its mean, plus the rollout's noise with --stochastic) and
    the recurrent state to carry to the next step (None for a feed-forward policy)."""
    import torch

    with torch.no_grad():
        obs_t = torch.as_tensor(obs, dtype=torch.float32)[None]
        if state is not None:
            mean, std, state = model.step_raw(obs_t, state)
        else:
            mean = model.actor_mean(obs_t)
            std = model.action_std(obs_t) if noise is not None else None
    a = mean[0].numpy()
    if noise is not None and std is not None:
        a = a + std[0].numpy() * noise.sample()[0]  # as the rollout samples it
    return a, state


def evaluate(cfg: EvalConfig) -> dict[str, Any]:
    import torch

    import sim
    from robot_ppo.algo.noise import make_noise
    from robot_ppo.algo.recurrent import is_recurrent
    from robot_ppo.train.checkpoint import build_model
    from robot_ppo.train.saved_config import checkpoint_config
    from sim.tasks.metrics import TaskMetrics

    ckpt, spec = _load_checked(cfg)
    torch.set_num_threads(1)
    model: Any = build_model(ckpt)  # feed-forward or recurrent actor-critic
    recurrent = is_recurrent(model)
    low = np.array(ckpt["action_low"], dtype=np.float32)
    high = np.array(ckpt["action_high"], dtype=np.float32)
    env = sim.make_env(spec, dynamics=cfg.dynamics,
                       render_mode="rgb_array" if cfg.video else None)
    returns: list[float] = []
    lengths: list[int] = []
    successes: list[bool] = []
    frames: list[np.ndarray] = []
    task_metrics = TaskMetrics(spec)
    train = checkpoint_config(ckpt.get("config")).ppo  # nested or flat (older) config
    noise = make_noise(train.noise, 1, len(low), train.noise_beta,
                       np.random.default_rng(cfg.seed)) if cfg.stochastic else None
    robot_env: Any = env.unwrapped  # sim.env.RobotEnv: exposes the task's current command
    bar = _progress_bar(cfg)
    for ep in range(cfg.episodes):
        obs, info = env.reset(seed=cfg.seed + ep)
        record = cfg.video is not None and ep < cfg.video_episodes
        total, steps, done = 0.0, 0, False
        # a recurrent policy carries its hidden state through the episode, from zeros
        state = model.zero_state(1) if recurrent else None
        if noise is not None:
            noise.reset(np.ones(1, dtype=bool))
        while not done:
            if record:
                frames.append(np.asarray(env.render()))
            a, state = _policy_action(model, obs, state, noise)
            obs, r, term, trunc, info = env.step(np.clip(a, low, high))
            task_metrics.step(steps, info, robot_env.command)
            total += float(r)
            steps += 1
            done = term or trunc
        returns.append(total)
        lengths.append(steps)
        if "success" in info:
            successes.append(bool(info["success"]))
        task_metrics.end_episode(info)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    env.close()
    result: dict[str, Any] = {
        "checkpoint": str(cfg.checkpoint), "robot": spec.name, "spec_hash": spec.spec_hash,
        "dynamics": cfg.dynamics, "episodes": cfg.episodes, "seed": cfg.seed,
        "stochastic": cfg.stochastic,
        "mean_return": float(np.mean(returns)), "std_return": float(np.std(returns)),
        "mean_length": float(np.mean(lengths)), "max_length": spec.task.episode_steps,
        "returns": [round(x, 4) for x in returns], "lengths": lengths,
    }
    if successes:
        result["success_rate"] = float(np.mean(successes))
    result.update(task_metrics.summary())
    if cfg.video is not None:
        result["video"] = str(write_video(frames, cfg.video, round(spec.rates.control_hz)))
    return result


def main(argv: list[str]) -> int:
    cfg = parse_config(EvalConfig, argv, "robot-ppo eval", DESCRIPTION)
    result = evaluate(cfg)
    if cfg.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0
