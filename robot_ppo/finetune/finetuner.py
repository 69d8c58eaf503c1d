"""The fine-tuning update: PPO on logged robot data with a KL leash to the reference policy.

Verbs, in the order the runner calls them:
    ft = Finetuner(model, reference, params)
    batch = ft.make_batch(segments)           # normalize obs once, values + GAE(γ, λ)
    ft.warmup_value(segments, epochs)         # critic only, policy frozen
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

Feed-forward and recurrent (GRU) models share every line of this; what differs, evaluating
μ, log σ and V on rows or on sequence chunks, is in policy_views.py. For a GRU each segment
is one sequence from a zero state; V, π_prox and π_ref come from unrolling whole segments,
and the update backpropagates through seq_len-step chunks started from the proximal
unroll's states (as training does).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from robot_ppo.algo.distributions import gaussian_entropy, gaussian_log_prob
from robot_ppo.algo.models import AnyActorCritic
from robot_ppo.algo.ppo import NonFiniteLossError, explained_variance, make_adam, ppo_losses
from robot_ppo.algo.storage import RolloutStorage
from robot_ppo.finetune.kl import gaussian_kl
from robot_ppo.finetune.policy_views import (
    Minibatch,
    PolicyView,
    log_std_at,
    policy_view,
    states_before,
)
from robot_ppo.finetune.segments import Segment

# β stays within these bounds when adapted.
BETA_MIN, BETA_MAX = 1e-4, 1e4

MIN_USABLE_STEPS = 2
"""Fewest usable logged steps an update can take: the advantages are normalized by their
standard deviation over the batch, which needs two samples (one gives NaN)."""


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
    seq_len: int = 16
    """Recurrent models: chunk length of the update's sequences (the checkpoint's)."""


class FlatBatch(NamedTuple):
    obs: torch.Tensor          # [N, D] normalized
    actions: torch.Tensor      # [N, A]
    weights: torch.Tensor      # [N] truncated π_prox/μ; 0 where μ is unknown
    prox_log_prob: torch.Tensor  # [N]
    old_values: torch.Tensor   # [N]
    advantages: torch.Tensor   # [N]
    returns: torch.Tensor      # [N]
    robot_obs: torch.Tensor    # [M, D] normalized robot observations (KL is measured here)
    robot_starts: torch.Tensor  # [M] 1 on each robot segment's first row
    starts: torch.Tensor       # [N] 1 on each segment's first row
    ref_mean: torch.Tensor     # [N, A] π_ref's mean
    ref_log_std: torch.Tensor  # [A] or [N, A] π_ref's log σ
    h_actor: torch.Tensor | None   # [N, H] GRU state before each row (proximal unroll)
    h_critic: torch.Tensor | None  # [N, H]


def segment_starts(segments: list[Segment]) -> torch.Tensor:
    """[N] 1.0 on the first row of each segment (segments back to back)."""
    lengths = [len(s) for s in segments]
    starts = torch.zeros(sum(lengths))
    if lengths:
        starts[np.cumsum([0, *lengths[:-1]])] = 1.0
    return starts


class Finetuner:
    """Owns the optimizer and β; knows nothing of files, envs or the simulator."""

    def __init__(self, model: AnyActorCritic, reference: AnyActorCritic,
                 params: FinetuneParams, generator: torch.Generator | None = None) -> None:
        if type(model) is not type(reference):
            raise ValueError("the model and its reference must be the same kind of model")
        self.model = model
        self.reference = copy.deepcopy(reference).eval()
        for p in self.reference.parameters():
            p.requires_grad_(False)
        self.view: PolicyView = policy_view(model, params.seq_len)
        self.ref_view: PolicyView = policy_view(self.reference, params.seq_len)
        self.params = params
        self.beta = float(params.kl_coef)
        self.generator = generator
        self.optimizer = make_adam(list(model.parameters()), params.lr)
        self.critic_optimizer = make_adam(self.view.critic_parameters(), params.lr)
        self.rollbacks = 0

    # ---- data ---------------------------------------------------------------------------
    @torch.no_grad()
    def make_batch(self, segments: list[Segment]) -> FlatBatch:
        """Flatten segments, evaluate V, log π_prox and π_ref with the current model (a GRU
        unrolls each segment from zeros), run GAE."""
        p, model, view = self.params, self.model, self.view
        obs = model.norm_obs(torch.as_tensor(np.concatenate([s.obs for s in segments])))
        starts = segment_starts(segments)
        actions = torch.as_tensor(np.concatenate([s.actions for s in segments]))
        logp_mu = torch.as_tensor(np.concatenate([s.behaviour_logp for s in segments]))
        rewards = np.concatenate([s.rewards for s in segments]) / p.reward_scale
        mean, log_std, h_actor = view.actor_all(obs, starts)
        prox = gaussian_log_prob(actions, mean, log_std)
        known = torch.isfinite(logp_mu)
        # w = min(π_prox/μ, c̄); samples logged without exploration carry no μ: weight 0.
        weights = torch.where(known, torch.exp(prox - torch.nan_to_num(logp_mu)).clamp(
            max=p.is_clip), torch.zeros(()))
        values, h_critic = view.critic_all(obs, starts)
        ref_mean, ref_log_std, _ = self.ref_view.actor_all(obs, starts)
        boot = self._bootstrap_values(segments, h_critic)
        advantages, returns = self._gae(values, rewards, segments, boot)
        robot = [s for s in segments if s.source == "robot"]
        robot_obs = np.concatenate([s.obs for s in robot] or
                                   [np.zeros((0, model.obs_dim), np.float32)])
        return FlatBatch(
            obs, actions, weights, prox, values, advantages, returns,
            model.norm_obs(torch.as_tensor(robot_obs)), segment_starts(robot), starts,
            ref_mean, ref_log_std,
            None if h_actor is None else states_before(h_actor, starts),
            None if h_critic is None else states_before(h_critic, starts))

    def _bootstrap_values(self, segments: list[Segment], h_critic: torch.Tensor | None
                          ) -> np.ndarray:
        """[N]: V(s_L) at the last row of each truncated segment, 0 elsewhere. A GRU critic
        evaluates s_L from its state after the segment's last step."""
        boot = np.zeros(sum(len(s) for s in segments), dtype=np.float32)
        ends = np.cumsum([len(s) for s in segments]) - 1
        cut = [(int(e), s.bootstrap_obs) for e, s in zip(ends, segments)
               if not s.terminal and s.bootstrap_obs is not None]
        if cut:
            rows = [e for e, _ in cut]
            boot_obs = self.model.norm_obs(torch.as_tensor(np.stack([b for _, b in cut])))
            state = None if h_critic is None else h_critic[rows]
            boot[rows] = self.view.bootstrap(boot_obs, state).numpy()
        return boot

    def _gae(self, values: torch.Tensor, rewards: np.ndarray, segments: list[Segment],
             boot: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(advantages, returns) [N]: GAE(γ, λ) with the PPO storage's recursion: one "env",
        segments back to back, done at each segment end, V(s_L) as bootstrap where the
        segment was truncated."""
        p, n = self.params, values.shape[0]
        dones = np.zeros(n, dtype=np.float32)
        dones[np.cumsum([len(s) for s in segments]) - 1] = 1.0
        storage = RolloutStorage(n, 1, self.model.obs_dim, self.model.act_dim)
        storage.values[:, 0] = values
        storage.rewards[:, 0] = torch.as_tensor(rewards, dtype=torch.float32)
        storage.dones[:, 0] = torch.as_tensor(dones)
        storage.bootstrap_values[:, 0] = torch.as_tensor(boot)
        storage.step = n
        storage.compute_returns(np.zeros(1, dtype=np.float32), p.gamma, p.gae_lambda)
        return storage.advantages[:, 0].clone(), storage.returns[:, 0].clone()

    # ---- diagnostics --------------------------------------------------------------------
    @torch.no_grad()
    def kl_to_reference(self, obs_n: torch.Tensor, starts: torch.Tensor | None = None
                        ) -> float:
        """mean_s KL(π_θ(·|s) ‖ π_ref(·|s)) over normalized observations; `starts` marks
        where sequences begin (a GRU unrolls them from zeros; default: every row, the
        models' stateless convention). Feed-forward models ignore it."""
        if obs_n.shape[0] == 0:
            return 0.0
        if starts is None:
            starts = torch.ones(obs_n.shape[0])
        mean, log_std, _ = self.view.actor_all(obs_n, starts)
        ref_mean, ref_log_std, _ = self.ref_view.actor_all(obs_n, starts)
        return float(gaussian_kl(mean, log_std, ref_mean, ref_log_std).mean())

    def _kl_robot(self, batch: FlatBatch) -> float:
        return self.kl_to_reference(batch.robot_obs, batch.robot_starts)

    # ---- critic warm-up -----------------------------------------------------------------
    def warmup_value(self, segments: list[Segment], epochs: int) -> dict[str, float]:
        """Fit V to GAE(λ) targets recomputed each epoch (fitted value iteration); the actor
        is untouched. Returns the last epoch's value loss and explained variance."""
        p = self.params
        params = self.view.critic_parameters()
        loss_v = float("nan")
        ev = float("nan")
        for _ in range(epochs):
            batch = self.make_batch(segments)
            losses = []
            for mb in self._minibatches(batch):
                v = self.view.critic(batch, mb)
                loss = 0.5 * (v - batch.returns[mb.rows]).square().mean()
                if not torch.isfinite(loss):
                    raise NonFiniteLossError("the value loss is not finite in the critic "
                                             "warm-up")
                self.critic_optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, p.max_grad_norm)
                self.critic_optimizer.step()
                losses.append(loss.item())
            loss_v = float(np.mean(losses))
            ev = explained_variance(batch.old_values, batch.returns)
        return {"value_loss": loss_v, "explained_variance": ev}

    # ---- policy update ------------------------------------------------------------------
    def _draw(self, n: int, size: int) -> list[torch.Tensor]:
        """Shuffled index sets of min(size, n) out of range(n); a ragged tail is dropped."""
        size = min(size, n)
        perm = torch.randperm(n, generator=self.generator)
        return [perm[k:k + size] for k in range(0, n - size + 1, size)]

    def _minibatches(self, batch: FlatBatch) -> list[Minibatch]:
        return self.view.minibatches(batch.obs.shape[0], self.params.minibatch_size,
                                     self._draw)

    def _step_loss(self, batch: FlatBatch, mb: Minibatch, weighted_adv: torch.Tensor
                   ) -> tuple[torch.Tensor, list[float]]:
        """The loss on one minibatch (module doc) and its stats row."""
        p, r = self.params, mb.rows
        mean, log_std = self.view.actor(batch, mb)
        logp = gaussian_log_prob(batch.actions[r], mean, log_std)
        entropy = gaussian_entropy(log_std, self.model.act_dim)
        values = self.view.critic(batch, mb)
        terms = ppo_losses(logp, batch.prox_log_prob[r], weighted_adv[r], values,
                           batch.old_values[r], batch.returns[r], entropy, p.clip, 0.0,
                           p.vf_coef, p.ent_coef)
        kl = gaussian_kl(mean, log_std, batch.ref_mean[r], log_std_at(batch.ref_log_std, r)).mean()
        loss = terms.total + self.beta * kl
        return loss, [terms.policy.item(), terms.value.item(), terms.entropy.item(),
                      kl.item(), terms.clip_fraction.item(), terms.approx_kl.item()]

    def update(self, batch: FlatBatch) -> dict[str, float]:
        """`epochs` passes of minibatches; β adapts and over-bound epochs roll back."""
        p, model = self.params, self.model
        adv = batch.advantages
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        weighted_adv = adv * batch.weights
        params = list(model.parameters())
        stats: list[list[float]] = []
        safe_state = copy.deepcopy(model.state_dict())
        kl_ref = self._kl_robot(batch)
        for _epoch in range(p.epochs):
            for mb in self._minibatches(batch):
                loss, row = self._step_loss(batch, mb, weighted_adv)
                if not torch.isfinite(loss):  # before the step: the weights stay finite
                    raise NonFiniteLossError("the fine-tuning loss is not finite in the "
                                             "policy update")
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(params, p.max_grad_norm)
                self.optimizer.step()
                stats.append(row)
            kl_ref = self._kl_robot(batch)
            if kl_ref > p.kl_bound:
                # The leash is a hard bound: go back to the last parameters inside it.
                model.load_state_dict(safe_state)
                self.rollbacks += 1
                # (floor: a leash with β = 0 must still start pulling)
                self.beta = min(max(self.beta * 2.0, 1e-2), BETA_MAX)
                kl_ref = self._kl_robot(batch)
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
