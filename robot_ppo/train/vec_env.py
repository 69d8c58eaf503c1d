"""Vectorized environments: N gymnasium envs stepped together, in-process or in W workers.

Contract the trainer relies on (shapes with N envs, O obs dims, A action dims, P
privileged dims):
    venv = VecEnv(factory, num_envs=N, workers=W, privileged=False)
    obs, priv = venv.reset(seed)         # [N, O] float32, [N, P] float32 or None
    step = venv.step(actions)            # actions [N, A] float32, already clipped
    step.obs / step.privileged           # first obs of the NEXT episode where one ended
    step.rewards [N] f32, step.terminated [N] bool, step.truncated [N] bool
    step.final_obs / final_privileged    # true last obs, valid only in rows that ended
    step.episode_returns / episode_lengths   # undiscounted raw stats of episodes that ended
    step.episode_metrics                 # info["episode_metrics"] dicts of episodes that ended

Autoreset is SAME_STEP (gymnasium's `AutoresetMode.SAME_STEP`, done here by hand): an env
whose episode ends is reset within the same `step` call and its true final observation is
returned separately. Gymnasium ≥ 1.0 vector envs default to NEXT_STEP, where the step after
an episode end returns the reset observation and ignores the action: the rollout would then
contain dummy transitions to mask out of GAE and the loss. With SAME_STEP every stored
transition is real, and the truncation bootstrap V(final_obs) is available at once.

Workers: W = 0 or 1 steps every env in this process (no IPC); W ≥ 2 splits the N envs into W
contiguous slices: this process steps the first while W − 1 subprocesses step the others,
exchanging actions and results through shared memory with a one-byte pipe message per step
(plus, only in steps where an episode with `info["episode_metrics"]` ended, the pickled
metric dicts appended to the worker's reply). W = −1 (auto) stays in-process unless the
machine has at least 4 usable cores and a batch of N env steps costs more than ~1 ms; then W
= min(cores, N). Measured on the shared 2-core dev machine (docs/benchmarks.md): the
cartpole robot trained at ~4,100 steps/s in-process vs ~3,000–3,650 with W = 2 (this process
+ 1 worker): the workers compete with everything else for the same two cores and each step
pays pipe wake-ups.

Factories must be picklable top-level callables (spawned workers rebuild the envs).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import gymnasium as gym
import numpy as np

EnvFactory = Callable[[], gym.Env]


@dataclass(frozen=True)
class GymEnvFactory:
    """`gym.make(env_id, **env_kwargs)`, picklable for worker processes."""

    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> gym.Env:
        return gym.make(self.env_id, **self.env_kwargs)


@dataclass
class StepResult:
    obs: np.ndarray
    privileged: np.ndarray | None
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: np.ndarray
    final_privileged: np.ndarray | None
    episode_returns: list[float]
    episode_lengths: list[int]
    episode_metrics: list[dict[str, float]] = field(default_factory=list)
    """`info["episode_metrics"]` of the episodes that ended (envs that report them)."""


def mean_metrics(dicts: Any) -> dict[str, float]:
    """Per-key mean over metric dicts (keys missing from some dicts average the rest)."""
    sums: dict[str, list[float]] = {}
    for d in dicts:
        for k, v in d.items():
            sums.setdefault(k, []).append(float(v))
    return {k: float(np.mean(v)) for k, v in sums.items()}


def _flat(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).reshape(-1)


def _priv(info: dict[str, Any], dim: int) -> np.ndarray:
    if "privileged" not in info:
        raise RuntimeError("the env was asked for privileged observations but its info "
                           "has no 'privileged' key")
    p = _flat(info["privileged"])
    if p.size != dim:
        raise RuntimeError(f"info['privileged'] has {p.size} values, expected {dim}")
    return p


class _Buffers:
    """The arrays one step reads and writes; shared memory in multi-process mode."""

    def __init__(self, n: int, obs_dim: int, act_dim: int, priv_dim: int,
                 ctx: Any | None) -> None:
        def alloc(*shape: int) -> tuple[Any, np.ndarray]:
            size = int(np.prod(shape))
            if ctx is None:
                return None, np.zeros(shape, dtype=np.float32)
            raw = ctx.RawArray("f", max(size, 1))
            return raw, np.frombuffer(raw, dtype=np.float32, count=size).reshape(shape)

        names = {"actions": (n, act_dim), "obs": (n, obs_dim), "final_obs": (n, obs_dim),
                 "rewards": (n,), "terminated": (n,), "truncated": (n,),
                 "priv": (n, priv_dim), "final_priv": (n, priv_dim)}
        self.raw: dict[str, Any] = {}
        for name, shape in names.items():
            self.raw[name], arr = alloc(*shape)
            setattr(self, name, arr)

    actions: np.ndarray
    obs: np.ndarray
    final_obs: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    priv: np.ndarray
    final_priv: np.ndarray


class _EnvSlice:
    """Envs [lo, hi) stepped sequentially, writing into the shared buffers."""

    def __init__(self, factory: EnvFactory, lo: int, hi: int, bufs: _Buffers,
                 priv_dim: int) -> None:
        self.envs = [factory() for _ in range(lo, hi)]
        self.lo, self.hi = lo, hi
        self.bufs = bufs
        self.priv_dim = priv_dim
        self.metrics: list[dict[str, float]] = []
        """Episode metrics since the last `take_metrics()` (filled at episode ends only)."""

    def take_metrics(self) -> list[dict[str, float]]:
        out, self.metrics = self.metrics, []
        return out

    def reset(self, seed: int | None) -> None:
        b = self.bufs
        for k, env in enumerate(self.envs):
            i = self.lo + k
            obs, info = env.reset(seed=None if seed is None else seed + i)
            b.obs[i] = _flat(obs)
            if self.priv_dim:
                b.priv[i] = _priv(info, self.priv_dim)

    def step(self) -> None:
        b = self.bufs
        for k, env in enumerate(self.envs):
            i = self.lo + k
            obs, reward, terminated, truncated, info = env.step(b.actions[i])
            b.rewards[i] = reward
            b.terminated[i] = terminated
            b.truncated[i] = truncated
            if terminated or truncated:
                b.final_obs[i] = _flat(obs)
                if self.priv_dim:
                    b.final_priv[i] = _priv(info, self.priv_dim)
                if "episode_metrics" in info:
                    self.metrics.append({k: float(v) for k, v in info["episode_metrics"].items()})
                obs, info = env.reset()
            b.obs[i] = _flat(obs)
            if self.priv_dim:
                b.priv[i] = _priv(info, self.priv_dim)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _worker(conn: Connection, factory: EnvFactory, lo: int, hi: int, raw: dict[str, Any],
            dims: tuple[int, int, int, int]) -> None:
    n, obs_dim, act_dim, priv_dim = dims
    bufs = _Buffers.__new__(_Buffers)
    shapes = {"actions": (n, act_dim), "obs": (n, obs_dim), "final_obs": (n, obs_dim),
              "rewards": (n,), "terminated": (n,), "truncated": (n,),
              "priv": (n, priv_dim), "final_priv": (n, priv_dim)}
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        setattr(bufs, name, np.frombuffer(raw[name], dtype=np.float32, count=size)
                .reshape(shape))
    envs: _EnvSlice | None = None
    try:
        envs = _EnvSlice(factory, lo, hi, bufs, priv_dim)
        conn.send_bytes(b"k")
        while True:
            msg = conn.recv_bytes()
            if msg == b"s":
                envs.step()
                metrics = envs.take_metrics()
                if metrics:  # rare (episode ends only): the hot path stays one byte
                    conn.send_bytes(b"k" + pickle.dumps(metrics))
                    continue
            elif msg[:1] == b"r":
                seed_s = msg[1:].decode()
                envs.reset(None if seed_s == "" else int(seed_s))
            elif msg == b"c":
                break
            conn.send_bytes(b"k")
    except (KeyboardInterrupt, EOFError):
        pass
    except Exception:
        conn.send_bytes(b"e" + traceback.format_exc().encode())
    finally:
        if envs is not None:
            envs.close()
        conn.close()


def probe_env(factory: EnvFactory, privileged: bool, steps: int = 30
              ) -> tuple[gym.Space, gym.Space, int, float]:
    """Build one env: its spaces, privileged dim, and seconds per random step."""
    env = factory()
    try:
        _, info = env.reset(seed=0)
        priv_dim = _flat(info.get("privileged", [])).size if privileged else 0
        if privileged and priv_dim == 0:
            raise RuntimeError("privileged observations requested but the env's reset info "
                               "has no 'privileged' vector")
        env.action_space.seed(0)
        t0 = time.perf_counter()
        for _ in range(steps):
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            if term or trunc:
                env.reset()
        per_step = (time.perf_counter() - t0) / steps
        return env.observation_space, env.action_space, priv_dim, per_step
    finally:
        env.close()


def auto_workers(num_envs: int, step_seconds: float) -> int:
    """In-process unless a batch of env steps costs more than the IPC round trip."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    if num_envs * step_seconds < 1e-3 or cores < 4:
        return 0
    return min(cores, num_envs)


class VecEnv:
    """N envs from one factory; see the module docstring for the contract."""

    def __init__(self, factory: EnvFactory, num_envs: int, workers: int = -1,
                 privileged: bool = False, start_method: str = "spawn") -> None:
        if num_envs < 1:
            raise ValueError("num_envs must be >= 1")
        obs_space, act_space, priv_dim, step_s = probe_env(factory, privileged)
        if not isinstance(act_space, gym.spaces.Box):
            raise ValueError(f"only Box (continuous) action spaces are supported, got "
                             f"{act_space}")
        if not isinstance(obs_space, gym.spaces.Box):
            raise ValueError(f"only Box observation spaces are supported, got {obs_space}")
        self.observation_space, self.action_space = obs_space, act_space
        self.num_envs = num_envs
        self.obs_dim = int(np.prod(obs_space.shape))
        self.act_dim = int(np.prod(act_space.shape))
        self.priv_dim = priv_dim
        self.action_low = np.asarray(act_space.low, dtype=np.float32).reshape(-1)
        self.action_high = np.asarray(act_space.high, dtype=np.float32).reshape(-1)
        self.env_step_seconds = step_s
        if workers < 0:
            workers = auto_workers(num_envs, step_s)
        self.workers = min(workers, num_envs) if workers >= 2 else 0
        self._ep_ret = np.zeros(num_envs, dtype=np.float64)
        self._ep_len = np.zeros(num_envs, dtype=np.int64)
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        if self.workers == 0:
            self.bufs = _Buffers(num_envs, self.obs_dim, self.act_dim, priv_dim, None)
            self._local: _EnvSlice | None = _EnvSlice(factory, 0, num_envs, self.bufs,
                                                      priv_dim)
        else:
            # W stepping processes in all: this one steps the first slice itself while
            # W − 1 subprocesses step the others, so no core sits idle waiting.
            ctx = mp.get_context(start_method)
            self.bufs = _Buffers(num_envs, self.obs_dim, self.act_dim, priv_dim, ctx)
            dims = (num_envs, self.obs_dim, self.act_dim, priv_dim)
            bounds = np.linspace(0, num_envs, self.workers + 1).round().astype(int)
            for w in range(1, self.workers):
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_worker, daemon=True,  # type: ignore[attr-defined]
                                   args=(child, factory, int(bounds[w]), int(bounds[w + 1]),
                                         self.bufs.raw, dims))
                proc.start()
                child.close()
                self._conns.append(parent)
                self._procs.append(proc)
            self._local = _EnvSlice(factory, 0, int(bounds[1]), self.bufs, priv_dim)
            self._wait()

    @property
    def local_envs(self) -> list[gym.Env]:
        """The envs stepped in this process (the first slice; all of them when W = 0);
        empty after `close()`."""
        return [] if self._local is None else list(self._local.envs)

    def _wait(self) -> list[dict[str, float]]:
        """Wait for every worker's reply; returns the episode metrics they sent."""
        metrics: list[dict[str, float]] = []
        for conn in self._conns:
            try:
                msg = conn.recv_bytes()
            except EOFError:
                self.close()
                raise RuntimeError("an env worker process died") from None
            if msg[:1] == b"e":
                self.close()
                raise RuntimeError("env worker failed:\n" + msg[1:].decode())
            if len(msg) > 1:
                metrics.extend(pickle.loads(msg[1:]))
        return metrics

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Reset all envs (env i gets seed + i); returns copies of obs and privileged."""
        msg = b"r" + (b"" if seed is None else str(seed).encode())
        for conn in self._conns:
            conn.send_bytes(msg)
        assert self._local is not None
        self._local.reset(seed)
        self._wait()
        self._ep_ret[:] = 0
        self._ep_len[:] = 0
        b = self.bufs
        return b.obs.copy(), (b.priv.copy() if self.priv_dim else None)

    def step(self, actions: np.ndarray) -> StepResult:
        b = self.bufs
        b.actions[:] = actions.reshape(self.num_envs, self.act_dim)
        for conn in self._conns:
            conn.send_bytes(b"s")
        assert self._local is not None
        self._local.step()
        metrics = self._local.take_metrics() + self._wait()
        rewards = b.rewards.copy()
        terminated = b.terminated > 0.5
        truncated = b.truncated > 0.5
        self._ep_ret += rewards
        self._ep_len += 1
        returns: list[float] = []
        lengths: list[int] = []
        done = terminated | truncated
        if done.any():
            idx = np.flatnonzero(done)
            returns = self._ep_ret[idx].tolist()
            lengths = self._ep_len[idx].tolist()
            self._ep_ret[idx] = 0
            self._ep_len[idx] = 0
        return StepResult(
            obs=b.obs.copy(), privileged=b.priv.copy() if self.priv_dim else None,
            rewards=rewards, terminated=terminated, truncated=truncated,
            final_obs=b.final_obs.copy(),
            final_privileged=b.final_priv.copy() if self.priv_dim else None,
            episode_returns=returns, episode_lengths=lengths, episode_metrics=metrics)

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(BrokenPipeError, OSError):
                conn.send_bytes(b"c")
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        self._conns, self._procs = [], []
        if self._local is not None:
            self._local.close()
            self._local = None

    def __enter__(self) -> VecEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
