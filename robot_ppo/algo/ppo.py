"""The PPO update (Schulman et al. 2017) as a plain class with verbs the trainer calls in order:

    actions = ppo.act(obs, privileged)          # numpy [N, O] → a ~ π(·|s), all envs at once
    ppo.process_step(rewards, terminated, truncated, final_obs, final_privileged)
    ... repeat T times ...
    ppo.compute_returns(last_obs, last_privileged)   # GAE(γ, λ)
    losses = ppo.update()                       # epochs × minibatches; dict of floats

Loss, per minibatch, with ratio ρ = π_θ(a|s) / π_old(a|s) = exp(log π_θ − log π_old):
    L_policy  = −mean( min(ρ·A, clip(ρ, 1−ε, 1+ε)·A) )
    L_value   = ½ mean( max((V−R)², (V_old + clip(V−V_old, −c, c) − R)²) )   (c = value_clip)
              = ½ mean( (V−R)² )                                           (value_clip off)
    L         = L_policy + vf_coef·L_value − ent_coef·H[π_θ]

Advantages are normalized once per batch by default (`adv_norm="batch"`): with small
minibatches (64) per-minibatch statistics are noisy, and once per batch costs one op.

Where the time goes, and what is done about it (docs/benchmarks.md):
- collection: one numpy forward pass for all envs per step, on views of the model's
  memory (numpy_policy.py); raw observations in, normalized ones stored.
- update: the loss gradient is written out by hand in numpy (manual_grad.py) for the usual
  model shape, autograd otherwise; Adam runs on one flat buffer (optim.py).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np
import torch
from torch import nn

from robot_ppo.algo import manual_grad
from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.models import AnyActorCritic
from robot_ppo.algo.noise import make_noise
from robot_ppo.algo.normalizer import RewardScaler
from robot_ppo.algo.numpy_policy import NumpyPolicy
from robot_ppo.algo.optim import FlatAdam
from robot_ppo.algo.ppo_params import PPOParams
from robot_ppo.algo.ppo_recurrent import update_recurrent
from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.algo.recurrent_policy import TorchRecurrentPolicy
from robot_ppo.algo.sequence_storage import SequenceRolloutStorage
from robot_ppo.algo.storage import Minibatch, RolloutStorage


class Collective(Protocol):
    """What the update needs from the other ranks under torchrun
    (robot_ppo/train/distributed.py `Distributed`); None for one process."""

    world_size: int

    def average_(self, t: torch.Tensor) -> None: ...

    def mean_floats(self, values: list[float]) -> list[float]: ...

    def global_mean_std(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


class NonFiniteLossError(FloatingPointError):
    """The loss or gradient became NaN/inf; raised before the optimizer step, so the
    model's weights are still the last finite ones."""


class LossTerms(NamedTuple):
    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


def ppo_losses(new_log_prob: torch.Tensor, old_log_prob: torch.Tensor,
               advantages: torch.Tensor, values: torch.Tensor, old_values: torch.Tensor,
               returns: torch.Tensor, entropy: torch.Tensor, clip: float, value_clip: float,
               vf_coef: float, ent_coef: float) -> LossTerms:
    """The PPO loss terms for one minibatch (see the module docstring for the formulas)."""
    log_ratio = new_log_prob - old_log_prob
    ratio = torch.exp(log_ratio)
    surrogate = ratio * advantages
    surrogate_clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * advantages
    policy_loss = -torch.min(surrogate, surrogate_clipped).mean()
    if value_clip > 0:
        v_clipped = old_values + (values - old_values).clamp(-value_clip, value_clip)
        value_loss = 0.5 * torch.max((values - returns).square(),
                                     (v_clipped - returns).square()).mean()
    else:
        value_loss = 0.5 * (values - returns).square().mean()
    entropy_mean = entropy.mean()
    total = policy_loss + vf_coef * value_loss - ent_coef * entropy_mean
    with torch.no_grad():
        # Low-variance, non-negative KL(old‖new) estimator: E[(ρ − 1) − log ρ].
        approx_kl = ((ratio - 1.0) - log_ratio).mean()
        clip_fraction = ((ratio - 1.0).abs() > clip).to(ratio.dtype).mean()
    return LossTerms(total, policy_loss, value_loss, entropy_mean, approx_kl, clip_fraction)


def explained_variance(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """1 − Var[target − predicted] / Var[target]: 1 is perfect, 0 no better than a constant."""
    var_t = target.var()
    if var_t.item() == 0:
        return float("nan")
    return float(1.0 - (target - predicted).var() / var_t)


def normalize_batch_advantages(advantages: torch.Tensor, sync: Collective | None
                               ) -> torch.Tensor:
    """(A − mean) / (std + 1e-8) over the batch; under torchrun over every rank's batch."""
    if sync is None:
        return (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    mean, std = sync.global_mean_std(advantages.reshape(-1))
    return (advantages - mean) / (std + 1e-8)


def make_adam(params: list[nn.Parameter], lr: float) -> torch.optim.Adam:
    """A plain torch Adam (fused kernel where available) for callers that need one, e.g.
    fine-tuning on recorded rollouts; PPO itself uses FlatAdam."""
    try:
        return torch.optim.Adam(params, lr=lr, eps=1e-5, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, eps=1e-5, foreach=True)


class PPO:
    """Owns the model's optimizer and the rollout storage; knows nothing of envs or files."""

    def __init__(self, model: AnyActorCritic, params: PPOParams, num_envs: int,
                 num_steps: int) -> None:
        self.model = model
        self.params = params
        self.num_envs, self.num_steps = num_envs, num_steps
        self.recurrent = isinstance(model, RecurrentActorCritic)
        self.storage: RolloutStorage
        if isinstance(model, RecurrentActorCritic):
            if num_steps % params.seq_len:
                raise ValueError(f"rollout_steps ({num_steps}) must be a multiple of "
                                 f"seq_len ({params.seq_len}) for a recurrent policy")
            self.storage = SequenceRolloutStorage(num_steps, num_envs, model.obs_dim,
                                                  model.act_dim, model.critic_obs_dim,
                                                  model.rnn_hidden)
        else:
            self.storage = RolloutStorage(num_steps, num_envs, model.obs_dim, model.act_dim,
                                          model.critic_obs_dim)
        # 1 where the env's next observation begins an episode (all of them at the start)
        self.episode_starts = np.ones(num_envs, dtype=np.float32)
        # Adam over one flat buffer holding all parameters (see optim.py): its step and the
        # global grad norm are a handful of vector ops instead of per-tensor Python loops.
        self.optimizer = FlatAdam(list(model.parameters()), params.lr)
        self.learning_rate = params.lr
        self.reward_scaler = (RewardScaler(num_envs, params.gamma)
                              if params.reward_scaling else None)
        # Collection-time policy in numpy over the same memory; its noise generator is
        # seeded from torch's RNG so one torch.manual_seed fixes the whole run.
        rng = np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
        self.noise = make_noise(params.noise, num_envs, model.act_dim, params.noise_beta, rng)
        self.policy: NumpyPolicy | TorchRecurrentPolicy
        if isinstance(model, RecurrentActorCritic):
            self.policy = TorchRecurrentPolicy(model, num_envs, self.noise)
        else:
            self.policy = NumpyPolicy(model, rng)
            if params.noise != "white":  # white keeps NumpyPolicy's own draw (bit-identical)
                self.policy.noise = self.noise
        # Hand-written backward for the common model shape (see manual_grad.py); autograd
        # for everything else.
        self.manual_loss = (manual_grad.ManualLoss(model)
                            if params.manual_grad and isinstance(model, ActorCritic)
                            and manual_grad.supports(model) else None)
        # Data-parallel training (torchrun): each minibatch's gradient, KL and loss are
        # averaged over the ranks, and batch advantage normalization uses the global batch.
        # None (one process): no collective runs and the update is unchanged.
        self.sync: Collective | None = None

    # ---- collection (numpy: see numpy_policy.py) -------------------------------------
    def act(self, obs: np.ndarray, privileged: np.ndarray | None = None) -> np.ndarray:
        """Sample actions [N, A] for raw observations [N, O] of all envs at once, and
        record the step in storage.

        The normalizers are updated with this observation first (collection is the only
        place they move), then the networks see the normalized observation.
        """
        policy = self.policy
        policy.update_stats(obs, privileged)
        obs_n, priv_n = policy.normalize(obs, privileged)
        if isinstance(policy, TorchRecurrentPolicy):
            assert isinstance(self.storage, SequenceRolloutStorage)
            self.storage.add_state(policy.h_actor, policy.h_critic, self.episode_starts)
        actions, log_prob, values = policy.sample(obs_n, priv_n)
        self.storage.add_policy_step(obs_n, priv_n, actions, log_prob, values)
        return actions

    def process_step(self, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                     final_obs: np.ndarray | None = None,
                     final_privileged: np.ndarray | None = None) -> None:
        """Record the env's answer. `final_obs` holds the true last observation of each env
        whose episode ended at this step (rows of other envs are ignored); for a truncated
        episode its value is the bootstrap target, for a terminated one the target is 0."""
        dones = terminated | truncated
        if self.reward_scaler is not None:
            rewards = self.reward_scaler(rewards, dones)
        boot: np.ndarray | float = 0.0
        trunc_only = truncated & ~terminated
        if final_obs is not None and trunc_only.any():
            idx = np.flatnonzero(trunc_only)
            boot = np.zeros(self.num_envs, dtype=np.float32)
            fp = None if final_privileged is None else final_privileged[idx]
            if isinstance(self.policy, TorchRecurrentPolicy):
                boot[idx] = self.policy.value(final_obs[idx], fp, rows=idx)
            else:
                boot[idx] = self.policy.value(final_obs[idx], fp)
        self.storage.add_env_step(rewards, dones, boot)
        # episode ends: reset GRU states / correlated noise before the next observation
        if isinstance(self.policy, TorchRecurrentPolicy):
            self.policy.reset(dones)
        else:
            self.noise.reset(dones)
        self.episode_starts = dones.astype(np.float32)

    def compute_returns(self, last_obs: np.ndarray,
                        last_privileged: np.ndarray | None = None) -> None:
        """GAE over the rollout; V(s_T) of the observation that follows its last step."""
        last_values = self.policy.value(last_obs, last_privileged)
        self.storage.compute_returns(last_values, self.params.gamma, self.params.gae_lambda)

    # ---- update -------------------------------------------------------------------------
    def _set_lr(self, lr: float) -> None:
        self.learning_rate = lr
        self.optimizer.lr = lr

    def adapt_lr(self, kl: float) -> None:
        """rsl_rl-style schedule (kl_mode=adaptive): shrink the step when the policy moved
        too far, grow it when it barely moved; bounded to [lr_min, lr_max]."""
        p = self.params
        if p.kl_mode != "adaptive":
            return
        if kl > 2.0 * p.target_kl:
            self._set_lr(max(self.learning_rate / 1.5, p.lr_min))
        elif 0.0 < kl < 0.5 * p.target_kl:
            self._set_lr(min(self.learning_rate * 1.5, p.lr_max))

    def update(self) -> dict[str, float]:
        """Epochs of shuffled minibatches; returns mean losses and diagnostics."""
        if self.recurrent:
            seq_stats, stopped = update_recurrent(self)
            return self._summarize(seq_stats, stopped)
        p = self.params
        model = self.model
        assert isinstance(model, ActorCritic)
        data = self.storage.flat()
        batch = data.advantages.shape[0]
        advantages = data.advantages
        if p.adv_norm == "batch":
            advantages = normalize_batch_advantages(advantages, self.sync)
        mb_size = min(p.minibatch_size, batch)
        n_mb = batch // mb_size  # a ragged tail minibatch would be noisier; drop it
        # Pack every per-sample field into one [B, F] matrix: a minibatch is then a single
        # row gather instead of one per field.
        obs_dim, act_dim = data.obs.shape[1], data.actions.shape[1]
        priv_dim = 0 if data.privileged is None else data.privileged.shape[1]
        parts = [data.obs] + ([] if data.privileged is None else [data.privileged]) + [
            data.actions, data.old_log_prob[:, None], data.old_values[:, None],
            advantages[:, None], data.returns[:, None]]
        packed = torch.cat(parts, dim=1)
        packed_np = packed.numpy()
        c_act = obs_dim + priv_dim
        c_lp = c_act + act_dim
        manual = self.manual_loss
        stats: list[tuple[float, ...]] = []
        stopped_early = False
        for _epoch in range(p.epochs):
            perm = torch.randperm(batch)  # torch's RNG: seeded with everything else
            perm_np = perm.numpy()
            for k in range(n_mb):
                if manual is not None:
                    r = packed_np[perm_np[k * mb_size:(k + 1) * mb_size]]
                    adv_np = r[:, c_lp + 2]
                    if p.adv_norm == "minibatch":
                        adv_np = (adv_np - adv_np.mean()) / (adv_np.std(ddof=1) + 1e-8)
                    vals = manual(r[:, :obs_dim], r[:, obs_dim:c_act] if priv_dim else None,
                                  r[:, c_act:c_lp], r[:, c_lp], adv_np, r[:, c_lp + 1],
                                  r[:, c_lp + 3], p.clip, p.value_clip, p.vf_coef,
                                  p.ent_coef)
                    total, kl = vals.total, vals.approx_kl
                    row = vals[1:]
                else:
                    terms = self._autograd_losses(packed[perm[k * mb_size:(k + 1) * mb_size]],
                                                  model, obs_dim, priv_dim, act_dim)
                    total, kl = terms.total.item(), terms.approx_kl.item()
                    row = tuple(torch.stack((terms.policy, terms.value, terms.entropy,
                                             terms.approx_kl, terms.clip_fraction)
                                            ).detach().tolist())
                if self.sync is not None:  # every rank takes the same branch below
                    kl, total = self.sync.mean_floats([kl, total])
                if p.kl_mode == "early_stop" and kl > 1.5 * p.target_kl:
                    # SB3's rule: stop the whole update before a step that would move the
                    # policy too far from the one that collected the data.
                    stopped_early = True
                    break
                if not np.isfinite(total):
                    raise NonFiniteLossError("the PPO loss is not finite")
                if manual is None:
                    self.optimizer.zero_grad()
                    terms.total.backward()  # accumulates into the flat gradient views
                if self.sync is not None:
                    self.sync.average_(self.optimizer.flat_grad)
                grad_norm = self.optimizer.clip_grad_norm(p.max_grad_norm)
                if not np.isfinite(grad_norm):
                    raise NonFiniteLossError("the gradient is not finite")
                self.optimizer.step()
                self.adapt_lr(kl)
                stats.append(row)
            if stopped_early:
                break
        return self._summarize(stats, stopped_early)

    def _autograd_losses(self, rows: torch.Tensor, model: ActorCritic, obs_dim: int,
                         priv_dim: int, act_dim: int) -> LossTerms:
        """The PPO loss terms of one packed minibatch (`update`'s [B, F] rows) by autograd."""
        p = self.params
        c_act = obs_dim + priv_dim
        c_lp = c_act + act_dim
        mb = Minibatch(rows[:, :obs_dim],
                       rows[:, obs_dim:c_act] if priv_dim else None,
                       rows[:, c_act:c_lp], rows[:, c_lp], rows[:, c_lp + 1],
                       rows[:, c_lp + 2], rows[:, c_lp + 3])
        adv = mb.advantages
        if p.adv_norm == "minibatch":
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        new_log_prob, entropy, values = model.evaluate(mb.obs, mb.actions, mb.privileged)
        return ppo_losses(new_log_prob, mb.old_log_prob, adv, values, mb.old_values,
                          mb.returns, entropy, p.clip, p.value_clip, p.vf_coef, p.ent_coef)

    def _summarize(self, stats: list[tuple[float, ...]], stopped_early: bool
                   ) -> dict[str, float]:
        data = self.storage.flat()
        means = np.mean(stats, axis=0).tolist() if stats else [float("nan")] * 5
        out = dict(zip(("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction"),
                       means))
        out["explained_variance"] = explained_variance(data.old_values, data.returns)
        out["learning_rate"] = self.learning_rate
        out["updates"] = float(len(stats))
        out["stopped_early"] = float(stopped_early)
        if self.reward_scaler is not None:
            out["reward_scale"] = self.reward_scaler.scale()
        self.storage.clear()
        return out
