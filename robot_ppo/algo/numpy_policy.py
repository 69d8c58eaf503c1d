"""The collection-time policy in numpy, reading the torch model's memory in place.

Why: sampling actions for N envs is ~15 tiny matrix ops per env step; each costs ~1 µs in
numpy and 3–8 µs through torch's dispatcher, so collection overhead drops ~4× (it matters
most for cheap envs like Pendulum, where the policy costs more than the env).

No copies: weights are numpy views of the model's parameters (which `FlatAdam` keeps in
one flat CPU buffer), and the normalizer statistics are views of its buffers, so every
optimizer step and every statistics update is seen at once by both sides. The model must
stay on the CPU, and parameters must not be re-allocated after construction
(`load_state_dict` copies in place, which is fine).
tests/robot_ppo/test_algo_numpy_policy.py holds it equal to the torch model.
MLPs only (`supports`); recurrent models collect with recurrent_policy.TorchRecurrentPolicy.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from robot_ppo.algo.noise import LowpassNoise, WhiteNoise
from robot_ppo.algo.policy import LOG_STD_MAX, LOG_STD_MIN, ActorCritic

_LOG_SQRT_2PI = 0.9189385332046727


def _view(t: object) -> np.ndarray:
    return t.detach().numpy()  # type: ignore[attr-defined]


class _Stats:
    """numpy views of a RunningMeanStd's buffers, with the same Chan merge."""

    def __init__(self, rms: nn.Module) -> None:
        self.mean = _view(rms.mean)
        self.var = _view(rms.var)
        self.count = _view(rms.count)
        self.clip = float(rms.clip)  # type: ignore[arg-type]
        self.eps = float(rms.epsilon)  # type: ignore[arg-type]

    def update(self, x: np.ndarray) -> None:
        n_b = x.shape[0]
        xd = x.astype(np.float64)
        # sums rather than np.mean/np.var: those add ~15 µs of Python per env step
        b_mean = xd.sum(0) / n_b
        centered = xd - b_mean
        b_var = (centered * centered).sum(0) / n_b
        n_a = float(self.count)
        n = n_a + n_b
        delta = b_mean - self.mean
        self.mean[...] = self.mean + delta * (n_b / n)
        self.var[...] = (self.var * n_a + b_var * n_b + delta * delta * (n_a * n_b / n)) / n
        self.count[...] = n

    def normalize(self, x: np.ndarray) -> np.ndarray:
        y = (x - self.mean) / np.sqrt(self.var + self.eps)
        return np.clip(y, -self.clip, self.clip, out=y)


def supports(model: object) -> bool:
    """True for the feed-forward ActorCritic (on the CPU); False for recurrent models."""
    return isinstance(model, ActorCritic) and not getattr(model, "is_recurrent", False) \
        and all(p.device.type == "cpu" for p in model.parameters())


class InputStats:
    """The collection loop's view of a model's observation normalizers: `update_stats` merges
    a batch into the running statistics in place (numpy views of the torch buffers) and
    `normalize` applies them. Shared by the numpy MLP policy and the torch recurrent one."""

    def __init__(self, model: nn.Module) -> None:
        normalize = bool(model.normalize_obs)
        critic_rms = model.critic_normalizer
        self.obs_stats = _Stats(model.obs_normalizer) if normalize else None  # type: ignore[arg-type]
        self.priv_stats = (_Stats(critic_rms)  # type: ignore[arg-type]
                           if normalize and critic_rms is not None else None)

    def normalize(self, obs: np.ndarray, priv: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray | None]:
        obs_n = obs if self.obs_stats is None else self.obs_stats.normalize(obs)
        priv_n = priv if (priv is None or self.priv_stats is None) else \
            self.priv_stats.normalize(priv)
        return obs_n.astype(np.float32, copy=False), (
            None if priv_n is None else priv_n.astype(np.float32, copy=False))

    def update_stats(self, obs: np.ndarray, priv: np.ndarray | None) -> None:
        if self.obs_stats is not None:
            self.obs_stats.update(obs)
        if self.priv_stats is not None and priv is not None:
            self.priv_stats.update(priv)


class NumpyPolicy(InputStats):
    """Sampling, log-probs and values for a batch of raw observations, in numpy."""

    def __init__(self, model: ActorCritic, rng: np.random.Generator) -> None:
        if not isinstance(model, ActorCritic) or getattr(model, "is_recurrent", False):
            raise ValueError("NumpyPolicy supports feed-forward ActorCritic models only")
        if any(p.device.type != "cpu" for p in model.parameters()):
            raise ValueError("NumpyPolicy needs the model on the CPU")
        self.model = model
        self.rng = rng
        # None: i.i.d. N(0, 1) drawn here; else a per-env source (noise.py, e.g. low-pass)
        # that must be built for the same number of envs as every `sample` batch.
        self.noise: WhiteNoise | LowpassNoise | None = None
        self.act_dim = model.act_dim

        def layers(body: nn.Sequential, head: nn.Linear) -> list[tuple[np.ndarray, np.ndarray]]:
            lins = [m for m in body if isinstance(m, nn.Linear)] + [head]
            return [(_view(m.weight).T, _view(m.bias)) for m in lins]

        self.actor = layers(model.actor_body, model.mu)
        self.critic = layers(model.critic_body, model.value_head)
        self.log_std = None if model.log_std is None else _view(model.log_std)
        self.log_std_head = (None if model.log_std_head is None else
                             (_view(model.log_std_head.weight).T,
                              _view(model.log_std_head.bias)))
        super().__init__(model)
        self.activation = model.activation

    def _act_fn(self, z: np.ndarray) -> np.ndarray:
        if self.activation == "tanh":
            return np.tanh(z, out=z)
        if self.activation == "relu":
            return np.maximum(z, 0.0, out=z)
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))

    def _trunk(self, layers: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray
               ) -> np.ndarray:
        h = x
        for w, b in layers[:-1]:
            h = self._act_fn(h @ w + b)
        return h


    def mean_log_std(self, obs_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self._trunk(self.actor, obs_n)
        w, b = self.actor[-1]
        mean = h @ w + b
        if self.log_std_head is None:
            assert self.log_std is not None
            return mean, self.log_std
        wl, bl = self.log_std_head
        return mean, np.clip(h @ wl + bl, LOG_STD_MIN, LOG_STD_MAX)

    def value_normalized(self, obs_n: np.ndarray, priv_n: np.ndarray | None) -> np.ndarray:
        x = obs_n if priv_n is None else np.concatenate((obs_n, priv_n), axis=1)
        h = self._trunk(self.critic, x)
        w, b = self.critic[-1]
        return (h @ w + b)[:, 0]

    def value(self, obs: np.ndarray, priv: np.ndarray | None) -> np.ndarray:
        obs_n, priv_n = self.normalize(obs, priv)
        return self.value_normalized(obs_n, priv_n)

    def sample(self, obs_n: np.ndarray, priv_n: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(actions, log π(a|s), V(s)) for normalized inputs."""
        mean, log_std = self.mean_log_std(obs_n)
        noise = (self.rng.standard_normal(mean.shape, dtype=np.float32)
                 if self.noise is None else self.noise.sample())
        actions = mean + noise * np.exp(log_std)
        # with a = μ + σ·ξ:  log N(a; μ, σ) = Σ_i [−½ξ_i² − log σ_i − ½ log 2π]
        log_prob = (-0.5 * noise * noise - log_std).sum(-1) - self.act_dim * _LOG_SQRT_2PI
        return actions, log_prob, self.value_normalized(obs_n, priv_n)
