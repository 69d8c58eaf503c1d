"""The PPO update for recurrent models: the same loss over minibatches of sequences.

Samples cannot be shuffled one by one (each needs its GRU past), so minibatches are sets of
`seq_len`-step sequences (sequence_storage.py), each unrolled from its stored start state
with episode-start resets; the loss terms (ppo.ppo_losses) are then means over every step
of every sequence, exactly as over a flat minibatch. Always autograd (no manual gradient).
A minibatch holds max(1, minibatch_size // seq_len) sequences, so it has about the same
number of samples as the feed-forward update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from robot_ppo.algo.recurrent import RecurrentActorCritic
from robot_ppo.algo.sequence_storage import SequenceRolloutStorage

if TYPE_CHECKING:
    from robot_ppo.algo.ppo import PPO


def update_recurrent(ppo: PPO) -> tuple[list[tuple[float, ...]], bool]:
    """Epochs × sequence minibatches; returns per-step stats rows and the early-stop flag."""
    from robot_ppo.algo.ppo import NonFiniteLossError, normalize_batch_advantages, ppo_losses

    p = ppo.params
    model = ppo.model
    storage = ppo.storage
    assert isinstance(model, RecurrentActorCritic)
    assert isinstance(storage, SequenceRolloutStorage)
    adv = storage.advantages
    if p.adv_norm == "batch":
        adv = normalize_batch_advantages(adv, ppo.sync)
    data = storage.sequences(p.seq_len, adv)
    per_batch = max(1, p.minibatch_size // p.seq_len)
    stats: list[tuple[float, ...]] = []
    for _epoch in range(p.epochs):
        for mb in storage.minibatches(data, per_batch):
            a = mb.advantages
            if p.adv_norm == "minibatch":
                a = (a - a.mean()) / (a.std() + 1e-8)
            logp, entropy, values = model.evaluate_sequence(
                mb.obs, mb.privileged, mb.actions, mb.h_actor, mb.h_critic, mb.starts)
            terms = ppo_losses(logp.reshape(-1), mb.old_log_prob.reshape(-1), a.reshape(-1),
                               values.reshape(-1), mb.old_values.reshape(-1),
                               mb.returns.reshape(-1), entropy, p.clip, p.value_clip,
                               p.vf_coef, p.ent_coef)
            kl, total = terms.approx_kl.item(), terms.total.item()
            if ppo.sync is not None:  # every rank takes the same branch below
                kl, total = ppo.sync.mean_floats([kl, total])
            if p.kl_mode == "early_stop" and kl > 1.5 * p.target_kl:
                return stats, True
            if not np.isfinite(total):
                raise NonFiniteLossError("the PPO loss is not finite")
            ppo.optimizer.zero_grad()
            terms.total.backward()
            if ppo.sync is not None:
                ppo.sync.average_(ppo.optimizer.flat_grad)
            if not np.isfinite(ppo.optimizer.clip_grad_norm(p.max_grad_norm)):
                raise NonFiniteLossError("the gradient is not finite")
            ppo.optimizer.step()
            ppo.adapt_lr(kl)
            stats.append(tuple(torch.stack((terms.policy, terms.value, terms.entropy,
                                            terms.approx_kl, terms.clip_fraction)
                                           ).detach().tolist()))
    return stats, False
