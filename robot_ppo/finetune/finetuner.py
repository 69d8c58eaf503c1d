"""The fine-tuning update: PPO on logged robot data with a KL leash to the reference policy.

Verbs, in the order the runner calls them:
    ft = Finetuner(model, reference, params)
    batch = ft.make_batch(segments)           # normalize obs once, values + GAE(γ, λ)
    ft.warmup_value(batch, epochs)            # critic only, policy frozen
    for each iteration:
        batch = ft.make_batch(segments)       # fresh values/GAE, proximal log-probs
        stats = ft.update(batch)              # epochs × minibatches; dict of floats

Data are off-policy twice over: the behaviour policy μ that acted on the robot was the
reference with its std widened by the runtime's --explore scale, and after the first
iteration the policy has moved. The surrogate follows "decoupled" PPO (Hilton et al. 2021,
"Batch size-invariance for policy optimization"): the ratio is clipped around the
proximal policy π_prox (the policy at the start of the iteration), and each sample is
weighted by the truncated importance weight w = min(π_prox(a|s) / μ(a|s), c̄):

    L_policy = −mean( w · min(ρ·A, clip(ρ, 1−ε, 1+ε)·A) ),   ρ = π_θ(a|s) / π_prox(a|s)
    L        = L_policy + vf·L_value − ent·H[π_θ] + β·mean_s KL(π_θ(·|s) ‖ π_ref(·|s))

With --explore 1 and before any update, π_prox = μ and w = 1: this is plain PPO against
the logged log-probabilities. Since w > 0, w·min(ρA, clip(ρ)A) = min(ρ(wA), clip(ρ)(wA)),
so the PPO team's `ppo_losses` computes it with the advantages pre-weighted.

The observation normalizer stays frozen (it is part of the exported policy and of the
reference), so observations are normalized once per batch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from robot_ppo.algo.distributions import gaussian_entropy, gaussian_log_prob
from robot_ppo.algo.policy import ActorCritic
from robot_ppo.algo.ppo import explained_variance, make_adam, ppo_losses
from robot_ppo.algo.storage import RolloutStorage
from robot_ppo.finetune.kl import gaussian_kl
from robot_ppo.finetune.segments import Segment

# β stays within these bounds when adapted.
BETA_MIN, BETA_MAX = 1e-4, 1e4


@dataclass
class FinetuneParams:
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip: float = 0.2
    is_clip: float = 2.0
    vf_coef: float = 0.5
    ent_coef: float = 0.0
    max_grad_norm: float = 0.5
    epochs: int = 5
    minibatch_size: int = 256
    lr: float = 3e-4
    kl_coef: float = 0.1
    kl_bound: float = 0.05
    adaptive_kl: bool = True
    reward_scale: float = 1.0
    """Rewards are divided by this (the checkpoint's reward-scaler std), so value targets
    are in the units the critic was trained in."""


class FlatBatch(NamedTuple):
    obs: torch.Tensor          # [N, D] normalized
    actions: torch.Tensor      # [N, A]
    weights: torch.Tensor      # [N] truncated π_prox/μ; 0 where μ is unknown
    prox_log_prob: torch.Tensor  # [N]
    old_values: torch.Tensor   # [N]
    advantages: torch.Tensor   # [N]
    returns: torch.Tensor      # [N]
    robot_obs: torch.Tensor    # [M, D] normalized robot observations (KL is measured here)


class Finetuner:
    """Owns the optimizer and β; knows nothing of files, envs or the simulator."""

    def __init__(self, model: ActorCritic, reference: ActorCritic, params: FinetuneParams,
                 generator: torch.Generator | None = None) -> None:
        self.model = model
        self.reference = copy.deepcopy(reference).eval()
        for p in self.reference.parameters():
            p.requires_grad_(False)
        self.params = params
        self.beta = float(params.kl_coef)
        self.generator = generator
        self.optimizer = make_adam(list(model.parameters()), params.lr)
        critic = [*model.critic_body.parameters(), *model.value_head.parameters()]
        self.critic_optimizer = make_adam(critic, params.lr)
        self.rollbacks = 0

    # ---- data ---------------------------------------------------------------------------
    @torch.no_grad()
    def make_batch(self, segments: list[Segment]) -> FlatBatch:
        """Flatten segments, evaluate V and log π_prox with the current model, run GAE."""
        p, model = self.params, self.model
        obs = model.norm_obs(torch.as_tensor(np.concatenate([s.obs for s in segments])))
        actions = torch.as_tensor(np.concatenate([s.actions for s in segments]))
        logp_mu = torch.as_tensor(np.concatenate([s.behaviour_logp for s in segments]))
        rewards = np.concatenate([s.rewards for s in segments]) / p.reward_scale
        n = obs.shape[0]
        mean, log_std = model.mean_log_std(obs)
        prox = gaussian_log_prob(actions, mean, log_std)
        known = torch.isfinite(logp_mu)
        # w = min(π_prox/μ, c̄); samples logged without exploration carry no μ: weight 0.
        weights = torch.where(known, torch.exp(prox - torch.nan_to_num(logp_mu)).clamp(
            max=p.is_clip), torch.zeros(()))
        values = model.value_normalized(obs)

        dones = np.zeros(n, dtype=np.float32)
        boot = np.zeros(n, dtype=np.float32)
        ends = np.cumsum([len(s) for s in segments]) - 1
        dones[ends] = 1.0
        cut = [(e, s.bootstrap_obs) for e, s in zip(ends, segments)
               if not s.terminal and s.bootstrap_obs is not None]
        if cut:
            boot_obs = torch.as_tensor(np.stack([b for _, b in cut]))
            boot[[e for e, _ in cut]] = model.value(boot_obs).numpy()
        # GAE(γ, λ) with the PPO storage's recursion: one "env", segments back to back,
        # done at each segment end, V(s_L) as bootstrap where the segment was truncated.
        storage = RolloutStorage(n, 1, model.obs_dim, model.act_dim)
        storage.values[:, 0] = values
        storage.rewards[:, 0] = torch.as_tensor(rewards, dtype=torch.float32)
        storage.dones[:, 0] = torch.as_tensor(dones)
        storage.bootstrap_values[:, 0] = torch.as_tensor(boot)
        storage.step = n
        storage.compute_returns(np.zeros(1, dtype=np.float32), p.gamma, p.gae_lambda)
        robot = np.concatenate([s.obs for s in segments if s.source == "robot"] or
                               [np.zeros((0, model.obs_dim), np.float32)])
        return FlatBatch(obs, actions, weights, prox, values, storage.advantages[:, 0].clone(),
                         storage.returns[:, 0].clone(), model.norm_obs(torch.as_tensor(robot)))

    # ---- diagnostics --------------------------------------------------------------------
    @torch.no_grad()
    def kl_to_reference(self, obs_n: torch.Tensor) -> float:
        """mean_s KL(π_θ(·|s) ‖ π_ref(·|s)) over normalized observations."""
        if obs_n.shape[0] == 0:
            return 0.0
        mean, log_std = self.model.mean_log_std(obs_n)
        ref_mean, ref_log_std = self.reference.mean_log_std(obs_n)
        return float(gaussian_kl(mean, log_std, ref_mean, ref_log_std).mean())

    # ---- critic warm-up -----------------------------------------------------------------
    def warmup_value(self, segments: list[Segment], epochs: int) -> dict[str, float]:
        """Fit V to GAE(λ) targets recomputed each epoch (fitted value iteration); the actor
        is untouched. Returns the last epoch's value loss and explained variance."""
        p = self.params
        params = [*self.model.critic_body.parameters(), *self.model.value_head.parameters()]
        loss_v = float("nan")
        ev = float("nan")
        for _ in range(epochs):
            batch = self.make_batch(segments)
            losses = []
            for idx in self._minibatches(batch.obs.shape[0]):
                v = self.model.value_normalized(batch.obs[idx])
                loss = 0.5 * (v - batch.returns[idx]).square().mean()
                self.critic_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, p.max_grad_norm)
                self.critic_optimizer.step()
                losses.append(loss.item())
            loss_v = float(np.mean(losses))
            ev = explained_variance(batch.old_values, batch.returns)
        return {"value_loss": loss_v, "explained_variance": ev}

    # ---- policy update ------------------------------------------------------------------
    def _minibatches(self, n: int) -> list[torch.Tensor]:
        size = min(self.params.minibatch_size, n)
        perm = torch.randperm(n, generator=self.generator)
        return [perm[k:k + size] for k in range(0, n - size + 1, size)]

    def update(self, batch: FlatBatch) -> dict[str, float]:
        """`epochs` passes of minibatches; β adapts and over-bound epochs roll back."""
        p, model = self.params, self.model
        adv = batch.advantages
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        weighted_adv = adv * batch.weights
        params = list(model.parameters())
        stats: list[list[float]] = []
        safe_state = copy.deepcopy(model.state_dict())
        kl_ref = self.kl_to_reference(batch.robot_obs)
        for _epoch in range(p.epochs):
            for idx in self._minibatches(batch.obs.shape[0]):
                obs = batch.obs[idx]
                mean, log_std = model.mean_log_std(obs)
                logp = gaussian_log_prob(batch.actions[idx], mean, log_std)
                entropy = gaussian_entropy(log_std, model.act_dim)
                values = model.value_normalized(obs)
                terms = ppo_losses(logp, batch.prox_log_prob[idx], weighted_adv[idx], values,
                                   batch.old_values[idx], batch.returns[idx], entropy, p.clip,
                                   0.0, p.vf_coef, p.ent_coef)
                with torch.no_grad():
                    ref_mean, ref_log_std = self.reference.mean_log_std(obs)
                kl = gaussian_kl(mean, log_std, ref_mean, ref_log_std).mean()
                loss = terms.total + self.beta * kl
                if not torch.isfinite(loss):
                    raise FloatingPointError("the fine-tuning loss is not finite")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, p.max_grad_norm)
                self.optimizer.step()
                stats.append([terms.policy.item(), terms.value.item(), terms.entropy.item(),
                              kl.item(), terms.clip_fraction.item(), terms.approx_kl.item()])
            kl_ref = self.kl_to_reference(batch.robot_obs)
            if kl_ref > p.kl_bound:
                # The leash is a hard bound: go back to the last parameters inside it.
                model.load_state_dict(safe_state)
                self.rollbacks += 1
                # (floor: a leash with β = 0 must still start pulling)
                self.beta = min(max(self.beta * 2.0, 1e-2), BETA_MAX)
                kl_ref = self.kl_to_reference(batch.robot_obs)
                break
            safe_state = copy.deepcopy(model.state_dict())
            if p.adaptive_kl:
                # Schulman et al. (2017) §4 adaptive penalty, aimed at half the bound.
                target = 0.5 * p.kl_bound
                if kl_ref > 1.5 * target:
                    self.beta = min(self.beta * 2.0, BETA_MAX)
                elif kl_ref < target / 1.5:
                    self.beta = max(self.beta / 2.0, BETA_MIN)
        means = np.mean(stats, axis=0) if stats else [float("nan")] * 6
        names = ("policy_loss", "value_loss", "entropy", "kl_ref_minibatch", "clip_fraction",
                 "approx_kl_prox")
        out = {k: float(v) for k, v in zip(names, means)}
        out.update(kl_ref=kl_ref, beta=self.beta, rollbacks=float(self.rollbacks),
                   is_weight_mean=float(batch.weights.mean()),
                   explained_variance=explained_variance(batch.old_values, batch.returns))
        return out
