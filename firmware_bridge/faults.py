"""Fault injection for the virtual controller: lossy, noisy, slow, stalling or vanishing links.

All randomness comes from one seeded generator, so a failing test replays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["FaultConfig", "FaultInjector"]


@dataclass(frozen=True)
class FaultConfig:
    """What goes wrong on the link. The defaults inject nothing."""

    drop_rate: float = 0.0
    """Probability that each byte is lost."""
    corrupt_rate: float = 0.0
    """Probability that each byte is replaced by a different random byte."""
    delay_ms: float = 0.0
    """Extra delay of an affected reply, ms."""
    delay_rate: float = 1.0
    """Fraction of replies that get ``delay_ms``."""
    stall_after: int | None = None
    """After this many replies the device stops answering (requests are ignored)."""
    stall_s: float | None = None
    """How long a stall lasts, s; None = until the server stops."""
    disconnect_after: int | None = None
    """After this many replies the server closes the transport."""
    direction: Literal["replies", "requests", "both"] = "replies"
    """Which bytes drop/corrupt act on."""
    seed: int = 0

    @property
    def active(self) -> bool:
        return self != FaultConfig(seed=self.seed)


class FaultInjector:
    """Applies a ``FaultConfig``; counts what it did."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = np.random.default_rng(config.seed)
        self.replies = 0
        self.dropped = 0
        self.corrupted = 0
        self.delayed = 0
        self.ignored = 0  # requests swallowed by a stall
        self._stall_start: float | None = None

    def mangle(self, data: bytes, reply: bool) -> bytes:
        """Drop and corrupt bytes of ``data`` (a reply if ``reply``, else a request)."""
        c = self.config
        if (c.drop_rate <= 0 and c.corrupt_rate <= 0) or not data:
            return data
        if c.direction != "both" and (c.direction == "replies") != reply:
            return data
        buf = np.frombuffer(data, dtype=np.uint8).copy()
        if c.corrupt_rate > 0:
            hit = self._rng.random(buf.size) < c.corrupt_rate
            # XOR with 1..255 guarantees the byte really changes.
            buf[hit] ^= self._rng.integers(1, 256, int(hit.sum()), dtype=np.uint8)
            self.corrupted += int(hit.sum())
        if c.drop_rate > 0:
            keep = self._rng.random(buf.size) >= c.drop_rate
            self.dropped += int(buf.size - keep.sum())
            buf = buf[keep]
        return buf.tobytes()

    def reply_delay_s(self) -> float:
        """Extra delay for the next reply."""
        c = self.config
        if c.delay_ms > 0 and (c.delay_rate >= 1 or self._rng.random() < c.delay_rate):
            self.delayed += 1
            return c.delay_ms / 1000.0
        return 0.0

    def stalled(self, now: float) -> bool:
        """True while the device must ignore requests."""
        c = self.config
        if c.stall_after is None or self.replies < c.stall_after:
            return False
        if self._stall_start is None:
            self._stall_start = now
        if c.stall_s is None or now - self._stall_start < c.stall_s:
            self.ignored += 1
            return True
        return False

    def count_reply(self) -> None:
        self.replies += 1

    def must_disconnect(self) -> bool:
        c = self.config
        return c.disconnect_after is not None and self.replies >= c.disconnect_after
