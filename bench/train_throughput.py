"""Training throughput: robot_ppo vs Stable-Baselines3 PPO on the same env and work.

    python bench/train_throughput.py [--steps 20480] [--threshold-steps 150000]

Env: the project's cartpole (`RobotPPO/CartPole-v0`, needs `import sim`); without the
simulator it falls back to Pendulum-v1 and says so. Both libraries get the same env
factory, in-process vector envs (SB3's DummyVecEnv, robot_ppo workers=0) and one torch
thread, so the comparison measures the libraries, not the process layout.

Prints:
 1. raw env steps/s with random actions (the ceiling), in-process and in 2 workers;
 2. same work (8 envs × 256 steps, minibatch 64, 10 epochs, [64,64] tanh, lr 3e-4, no obs or
    reward normalization, per-minibatch advantage normalization as SB3): env steps/s of
    each library and the ratio;
 3. robot_ppo with its own defaults: env steps/s and % of the ceiling;
 4. wall-clock time to a mean training return threshold (last 20 episodes), each library
    with its own defaults and 8 envs (skip with --threshold-steps 0).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robot_ppo.cli_values import with_values
from robot_ppo.train.config import TrainConfig, preset_for
from robot_ppo.train.trainer import EnvSource, Trainer
from robot_ppo.train.vec_env import GymEnvFactory, VecEnv


def robot_env(dynamics: str) -> gym.Env:
    import sim
    from robot_ppo.spec import load_spec
    return sim.make_env(load_spec("cartpole"), dynamics=dynamics)


def pick_env(dynamics: str, which: str) -> tuple[Any, str, float]:
    """(factory, env id, return threshold)."""
    if which == "pendulum":
        return GymEnvFactory("Pendulum-v1"), "Pendulum-v1", -400.0
    try:
        import sim  # noqa: F401
    except ImportError:
        print("note: package 'sim' is not importable; benchmarking Pendulum-v1 instead")
        return GymEnvFactory("Pendulum-v1"), "Pendulum-v1", -400.0
    return functools.partial(robot_env, dynamics), "RobotPPO/CartPole-v0", 475.0


def raw_rate(factory: Any, envs: int, steps: int, workers: int) -> float:
    """Env steps/s of the vec env alone, random actions in [-1, 1]·bounds."""
    with VecEnv(factory, envs, workers=workers) as venv:
        venv.reset(seed=0)
        rng = np.random.default_rng(0)
        low, high = venv.action_low, venv.action_high
        actions = rng.uniform(low, high, size=(64, envs, venv.act_dim)).astype(np.float32)
        n_iter = max(1, steps // envs)
        t0 = time.perf_counter()
        for i in range(n_iter):
            venv.step(actions[i % 64])
        return n_iter * envs / (time.perf_counter() - t0)


def sb3_run(factory: Any, steps: int, same_work: bool, threshold: float | None,
            seed: int = 0) -> tuple[float, float, int]:
    """(env steps/s, seconds to threshold or nan, steps done)."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

    venv = VecMonitor(DummyVecEnv([factory] * 8))
    kwargs: dict[str, Any] = {}
    if same_work:
        kwargs = dict(n_steps=256, batch_size=64, n_epochs=10, learning_rate=3e-4,
                      policy_kwargs=dict(net_arch=[64, 64], activation_fn=torch.nn.Tanh))
    model = PPO("MlpPolicy", venv, device="cpu", seed=seed, verbose=0,
                stats_window_size=20, **kwargs)
    reached: list[float] = []
    t0 = time.perf_counter()

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return not reached  # False ends learn()

        def _on_rollout_end(self) -> None:
            buf = self.model.ep_info_buffer
            assert buf is not None
            if threshold is not None and not reached and len(buf) >= 20 and \
                    np.mean([e["r"] for e in buf]) >= threshold:
                reached.append(time.perf_counter() - t0)

    model.learn(total_timesteps=steps, callback=Stop())
    wall = time.perf_counter() - t0
    done = int(model.num_timesteps)
    venv.close()
    return done / wall, (reached[0] if reached else float("nan")), done


def robot_ppo_run(factory: Any, env_id: str, config: TrainConfig,
                  threshold: float | None) -> tuple[float, float, int]:
    reached: list[float] = []
    t0 = time.perf_counter()

    def on_iteration(row: dict[str, float]) -> bool:
        if threshold is not None and row["episode_return"] >= threshold:
            reached.append(time.perf_counter() - t0)
            return True
        return False

    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, EnvSource(factory, env_id), Path(tmp),
                          on_iteration=on_iteration)
        t0 = time.perf_counter()
        summary = trainer.run()
    # summary's rate counts the loop only (env construction excluded), as for SB3 above
    return summary["env_steps_per_s"], (reached[0] if reached else float("nan")), \
        summary["env_steps"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20480,
                    help="env steps per throughput measurement (default 20480)")
    ap.add_argument("--threshold-steps", type=int, default=150_000,
                    help="cap for the time-to-threshold runs; 0 skips them (default 150000)")
    ap.add_argument("--repeats", type=int, default=2,
                    help="throughput runs per measurement; the best is reported (default 2)")
    ap.add_argument("--dynamics", default="randomized", help="cartpole dynamics set")
    ap.add_argument("--env", choices=("cartpole", "pendulum"), default="cartpole",
                    help="cartpole (the project's robot env; default) or pendulum "
                    "(Pendulum-v1: a cheap env, so library overhead dominates)")
    args = ap.parse_args()
    torch.set_num_threads(1)  # both libraries: one intra-op thread
    factory, env_id, threshold = pick_env(args.dynamics, args.env)
    print(f"env {env_id}; torch {torch.__version__}, {torch.get_num_threads()} thread; "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}")

    # The dev machine is shared: every rate is the best of --repeats interleaved runs.
    reps = range(max(1, args.repeats))
    raw_in = max(raw_rate(factory, 8, args.steps, workers=0) for _ in reps)
    raw_w2 = max(raw_rate(factory, 8, args.steps, workers=2) for _ in reps)
    ceiling = max(raw_in, raw_w2)
    print(f"raw env rate, random actions, 8 envs: in-process {raw_in:,.0f} steps/s; "
          f"2 workers {raw_w2:,.0f} steps/s")

    same = TrainConfig.flat(env=env_id, steps=args.steps, envs=8, rollout_steps=256,
                            minibatch_size=64, epochs=10, lr=3e-4, hidden=(64, 64),
                            activation="tanh", gamma=0.99, gae_lambda=0.95,
                            normalize_obs=False, reward_scaling=False, adv_norm="minibatch",
                            workers=0, progress=False, tensorboard=False, checkpoint_every=0)
    rp_same = sb_same = 0.0
    for _ in reps:
        rp_same = max(rp_same, robot_ppo_run(factory, env_id, same, None)[0])
        sb_same = max(sb_same, sb3_run(factory, args.steps, same_work=True, threshold=None)[0])
    print(f"same work: robot_ppo {rp_same:,.0f} steps/s; SB3 {sb_same:,.0f} steps/s; "
          f"ratio {rp_same / sb_same:.2f}x")

    own = TrainConfig.flat(env=env_id, progress=False, tensorboard=False, checkpoint_every=0,
                           **{**preset_for(env_id), "steps": args.steps})
    rp_own = max(robot_ppo_run(factory, env_id, own, None)[0] for _ in reps)
    print(f"robot_ppo own defaults (workers=auto): {rp_own:,.0f} steps/s = "
          f"{100 * rp_own / ceiling:.0f}% of the raw env rate ({ceiling:,.0f})")

    if args.threshold_steps > 0:
        cap = args.threshold_steps
        own_t = with_values(own, steps=cap)
        _, rp_t, rp_n = robot_ppo_run(factory, env_id, own_t, threshold)
        _, sb_t, sb_n = sb3_run(factory, cap, same_work=False, threshold=threshold)
        fmt = lambda t, n: (f"{t:.1f} s ({n} steps)" if t == t  # noqa: E731
                            else f"not reached in {n} steps")
        print(f"time to mean return >= {threshold:g}, own defaults, 8 envs: "
              f"robot_ppo {fmt(rp_t, rp_n)}; SB3 {fmt(sb_t, sb_n)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
