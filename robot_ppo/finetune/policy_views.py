"""What the fine-tuning update needs from a policy, for feed-forward and recurrent models.

The Finetuner's losses, GAE, KL leash, rollback and warm-up are the same for every model;
only "what are μ, log σ and V at these steps" differs. A view answers that for one model
over a batch's rows (segments back to back, `starts` = 1 on each segment's first row):

    actor_all / critic_all   every row, no minibatching (no-grad callers): μ, log σ, V, and
                             for a GRU the state *after* each row
    bootstrap                V of a truncated segment's successor observation
    minibatches              shuffled sets of rows the update can evaluate on their own
    actor / critic           μ, log σ / V on one minibatch (with grad), row order = mb.rows

Feed-forward (ActorCritic): rows are independent; a minibatch is any set of rows.

Recurrent (RecurrentActorCritic): each segment is one sequence from a zero state, as on
the robot (the runtime resets the GRU at an episode start and carries it step to step).
`actor_all` unrolls every segment from zeros. The update cannot shuffle rows (each needs
its past), so, as training does (ppo_recurrent.py), the row stream is cut into chunks of
seq_len rows (sequence_storage.time_chunks; the last chunk is padded, the padding masked
out) and each chunk is unrolled from the state the no-grad unroll had before its first row
under the proximal policy (the "stored state" approximation), with resets at segment
starts inside it. A minibatch is a set of whole chunks; its rows are its real steps,
time-major.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import NamedTuple, Protocol

import torch
from torch import nn

from robot_ppo.algo.actor_critic import ActorCritic
from robot_ppo.algo.models import AnyActorCritic
from robot_ppo.algo.recurrent import RecurrentActorCritic, unroll
from robot_ppo.algo.sequence_storage import time_chunks

Draw = Callable[[int, int], list[torch.Tensor]]
"""(n, size) -> shuffled index sets of `size` out of range(n) (the Finetuner's seeded RNG)."""


class Minibatch(NamedTuple):
    rows: torch.Tensor
    """[B] batch rows, in the order `actor` / `critic` return their outputs."""
    chunk_rows: torch.Tensor | None = None
    """Recurrent: [L, S] the row at each position of each chunk (padding repeats a row)."""
    mask: torch.Tensor | None = None
    """Recurrent: [L, S] True at real rows, False at padding."""


class RowData(Protocol):
    """What a view reads from a batch (FlatBatch provides it)."""

    @property
    def obs(self) -> torch.Tensor: ...          # [N, D] normalized
    @property
    def starts(self) -> torch.Tensor: ...       # [N] 1 on a segment's first row
    @property
    def h_actor(self) -> torch.Tensor | None: ...   # [N, H] GRU state before each row
    @property
    def h_critic(self) -> torch.Tensor | None: ...  # [N, H]


class PolicyView(ABC):
    """One model seen by the fine-tuning update (see module doc)."""

    model: AnyActorCritic

    @abstractmethod
    def actor_all(self, obs_n: torch.Tensor, starts: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(μ [N, A], log σ [A] or [N, A], GRU state after each row [N, H] or None)."""

    @abstractmethod
    def critic_all(self, obs_n: torch.Tensor, starts: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(V [N], critic GRU state after each row [N, H] or None)."""

    @abstractmethod
    def bootstrap(self, obs_n: torch.Tensor, state: torch.Tensor | None) -> torch.Tensor:
        """V [K] of successor observations [K, D] from the critic states [K, H] after each
        truncated segment's last row."""

    @abstractmethod
    def minibatches(self, n_rows: int, minibatch_size: int, draw: Draw) -> list[Minibatch]:
        """One epoch's minibatches of about `minibatch_size` rows."""

    @abstractmethod
    def actor(self, data: RowData, mb: Minibatch) -> tuple[torch.Tensor, torch.Tensor]:
        """μ [B, A] and log σ ([A] or [B, A]) at mb.rows."""

    @abstractmethod
    def critic(self, data: RowData, mb: Minibatch) -> torch.Tensor:
        """V [B] at mb.rows."""

    @abstractmethod
    def critic_parameters(self) -> list[nn.Parameter]:
        """What the value warm-up trains (the actor stays untouched)."""


class FeedForwardView(PolicyView):
    model: ActorCritic

    def __init__(self, model: ActorCritic) -> None:
        self.model = model

    def actor_all(self, obs_n: torch.Tensor, starts: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        mean, log_std = self.model.mean_log_std(obs_n)
        return mean, log_std, None

    def critic_all(self, obs_n: torch.Tensor, starts: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.model.value_normalized(obs_n), None

    def bootstrap(self, obs_n: torch.Tensor, state: torch.Tensor | None) -> torch.Tensor:
        return self.model.value_normalized(obs_n)

    def minibatches(self, n_rows: int, minibatch_size: int, draw: Draw) -> list[Minibatch]:
        return [Minibatch(idx) for idx in draw(n_rows, minibatch_size)]

    def actor(self, data: RowData, mb: Minibatch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.mean_log_std(data.obs[mb.rows])

    def critic(self, data: RowData, mb: Minibatch) -> torch.Tensor:
        return self.model.value_normalized(data.obs[mb.rows])

    def critic_parameters(self) -> list[nn.Parameter]:
        m = self.model
        return [*m.critic_body.parameters(), *m.value_head.parameters()]


def states_before(after: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """GRU states before each row from those after it: h⁻_t = h⁺_{t−1}·(1 − start_t),
    h⁻_0 = 0 (a one-layer GRU's output is its new state)."""
    shifted = torch.cat((torch.zeros_like(after[:1]), after[:-1]))
    return shifted * (1.0 - starts).unsqueeze(-1)


def chunk_layout(n_rows: int, seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows [0, n) cut into chunks of seq_len, the training layout (time_chunks with one
    env): index [L, C] (padding repeats row n−1; it follows the chunk's real steps, so the
    GRU's causality keeps it from touching them) and mask [L, C] (False on padding)."""
    c = math.ceil(n_rows / seq_len)
    rows = torch.arange(c * seq_len)
    mask = rows < n_rows
    index = rows.clamp(max=n_rows - 1)
    return time_chunks(index[:, None], seq_len), time_chunks(mask[:, None], seq_len)


def log_std_at(log_std: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """log σ at some rows (index or mask); a state-independent [A] is shared by all rows."""
    return log_std if log_std.dim() == 1 else log_std[idx]


class RecurrentView(PolicyView):
    model: RecurrentActorCritic

    def __init__(self, model: RecurrentActorCritic, seq_len: int) -> None:
        if seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {seq_len}")
        self.model = model
        self.seq_len = int(seq_len)

    def _run(self, rnn: nn.GRU, x: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        """Outputs [N, H] of `rnn` over the whole row stream, from zeros, reset at starts."""
        h0 = self.model.zero_state(1)
        return unroll(rnn, x.unsqueeze(1), h0, starts.unsqueeze(1))[:, 0]

    def actor_all(self, obs_n: torch.Tensor, starts: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        out = self._run(self.model.actor_rnn, obs_n, starts)
        mean, log_std = self.model.heads(out)
        return mean, log_std, out

    def critic_all(self, obs_n: torch.Tensor, starts: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self._run(self.model.critic_rnn, self.model.critic_input(obs_n, None), starts)
        return self.model.value_from(out), out

    def bootstrap(self, obs_n: torch.Tensor, state: torch.Tensor | None) -> torch.Tensor:
        assert state is not None, "a recurrent bootstrap needs the critic state"
        m = self.model
        v, _ = m.critic_step(m.critic_input(obs_n, None), state.unsqueeze(0))
        return v

    def minibatches(self, n_rows: int, minibatch_size: int, draw: Draw) -> list[Minibatch]:
        index, mask = chunk_layout(n_rows, self.seq_len)
        # as training: max(1, minibatch_size // seq_len) chunks, about minibatch_size rows
        per_batch = max(1, minibatch_size // self.seq_len)
        out = []
        for cs in draw(index.shape[1], per_batch):
            idx, m = index[:, cs], mask[:, cs]
            out.append(Minibatch(idx[m], idx, m))
        return out

    def _chunks(self, rnn: nn.GRU, x: torch.Tensor, h: torch.Tensor | None,
                data: RowData, mb: Minibatch) -> torch.Tensor:
        """Outputs [L, S, H] of `rnn` over the minibatch's chunks, each from the stored
        state before its first row."""
        assert mb.chunk_rows is not None and h is not None, "not a recurrent batch"
        h0 = h[mb.chunk_rows[0]].unsqueeze(0)
        return unroll(rnn, x[mb.chunk_rows], h0, data.starts[mb.chunk_rows])

    def actor(self, data: RowData, mb: Minibatch) -> tuple[torch.Tensor, torch.Tensor]:
        assert mb.mask is not None
        out = self._chunks(self.model.actor_rnn, data.obs, data.h_actor, data, mb)
        mean, log_std = self.model.heads(out)
        return mean[mb.mask], log_std_at(log_std, mb.mask)

    def critic(self, data: RowData, mb: Minibatch) -> torch.Tensor:
        assert mb.mask is not None
        x = self.model.critic_input(data.obs, None)
        out = self._chunks(self.model.critic_rnn, x, data.h_critic, data, mb)
        return self.model.value_from(out)[mb.mask]

    def critic_parameters(self) -> list[nn.Parameter]:
        m = self.model
        return [*m.critic_rnn.parameters(), *m.critic_body.parameters(),
                *m.value_head.parameters()]


def policy_view(model: AnyActorCritic, seq_len: int) -> PolicyView:
    """The view for a model; seq_len is used by recurrent models only."""
    if isinstance(model, RecurrentActorCritic):
        return RecurrentView(model, seq_len)
    return FeedForwardView(model)
