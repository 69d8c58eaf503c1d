"""Rollout storage for recurrent policies: hidden states, episode starts, sequence chunks.

On top of `RolloutStorage` ([T, N, ...] buffers and GAE) it keeps, per step,
    hidden_actor, hidden_critic [T, N, H]  the GRU states *before* observation t
    starts [T, N]                          1 where observation t begins an episode
The update cannot shuffle single samples (the GRU needs the past), so the rollout is cut
along time into chunks of `seq_len` steps: env n's steps [c·L, (c+1)·L) form sequence
(c, n), which starts from the stored state hidden_*[c·L, n] (the state the collector
actually had, computed with the pre-update weights: the "stored state" strategy). Inside a
chunk, `starts` resets the state at episode boundaries (RecurrentActorCritic.unroll), so
no sequence mixes two episodes. Minibatches are sets of whole sequences.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch

from robot_ppo.algo.storage import RolloutStorage


class SequenceBatch(NamedTuple):
    """A minibatch of S sequences of length L: time-major tensors [L, S, ...]."""

    obs: torch.Tensor
    privileged: torch.Tensor | None
    actions: torch.Tensor
    old_log_prob: torch.Tensor
    old_values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    starts: torch.Tensor
    h_actor: torch.Tensor   # [1, S, H]
    h_critic: torch.Tensor  # [1, S, H]


def time_chunks(x: torch.Tensor, seq_len: int) -> torch.Tensor:
    """[T, N, ...] → [L, (T/L)·N, ...] with L = seq_len (T must be a multiple of L): env n's
    steps [c·L, (c+1)·L) become sequence c·N + n, time-major. Also used by fine-tuning."""
    t, n, L = x.shape[0], x.shape[1], int(seq_len)
    c = t // L
    rest = x.shape[2:]
    # [T, N, ...] → [C, L, N, ...] → [L, C, N, ...] → [L, C·N, ...]
    return x.reshape(c, L, n, *rest).transpose(0, 1).reshape(L, c * n, *rest)


class SequenceRolloutStorage(RolloutStorage):
    """RolloutStorage plus GRU states and episode-start flags (see module doc)."""

    def __init__(self, num_steps: int, num_envs: int, obs_dim: int, act_dim: int,
                 privileged_dim: int | None, rnn_hidden: int) -> None:
        super().__init__(num_steps, num_envs, obs_dim, act_dim, privileged_dim)
        t, n = self.num_steps, self.num_envs
        self.hidden_actor = torch.zeros(t, n, rnn_hidden)
        self.hidden_critic = torch.zeros(t, n, rnn_hidden)
        self.starts = torch.zeros(t, n)

    def add_state(self, h_actor: torch.Tensor, h_critic: torch.Tensor,
                  starts: np.ndarray) -> None:
        """Record the states [1, N, H] and start flags [N] of the current step (call before
        `add_policy_step`, which checks for overflow)."""
        i = self.step
        if i >= self.num_steps:
            raise RuntimeError("rollout storage overflow")
        self.hidden_actor[i] = h_actor[0]
        self.hidden_critic[i] = h_critic[0]
        self.starts[i] = torch.from_numpy(np.asarray(starts, dtype=np.float32))

    def sequences(self, seq_len: int, advantages: torch.Tensor) -> SequenceBatch:
        """All sequences, [L, S, ...] with S = (T / L)·N; `advantages` is [T, N]."""
        t, n, L = self.num_steps, self.num_envs, int(seq_len)
        if t % L:
            raise ValueError(f"rollout_steps ({t}) must be a multiple of seq_len ({L})")
        c = t // L

        def seq(x: torch.Tensor) -> torch.Tensor:
            return time_chunks(x, L)

        def first(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(c, L, n, -1)[:, 0].reshape(1, c * n, -1)

        return SequenceBatch(
            seq(self.obs), None if self.privileged is None else seq(self.privileged),
            seq(self.actions), seq(self.log_probs), seq(self.values), seq(advantages),
            seq(self.returns), seq(self.starts), first(self.hidden_actor),
            first(self.hidden_critic))

    @staticmethod
    def minibatches(data: SequenceBatch, seqs_per_batch: int
                    ) -> Iterator[SequenceBatch]:
        """Shuffled minibatches of whole sequences (a ragged tail is dropped)."""
        s = data.obs.shape[1]
        k = max(1, min(seqs_per_batch, s))
        perm = torch.randperm(s)
        for j in range(s // k):
            idx = perm[j * k:(j + 1) * k]
            parts = [None if x is None else x[:, idx] for x in data]
            yield SequenceBatch._make(parts)
