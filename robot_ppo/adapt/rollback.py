"""The rollback rule: a round's policy is kept only if the robot does not do worse with it.

Judged on the next round's own logged episodes, collected with that policy (the exploring
episodes the next round collects anyway): no robot time is spent on evaluation alone, and
the policy is judged where it will be used, with the same exploration scale as the policy it
is compared with. Its mean return must reach the last accepted policy's, less `tolerance`
times |that return|. A rolled-back policy's episodes stay training data (their behaviour
log-probabilities are logged), but the next round's fine-tuning starts again from the last
accepted checkpoint. The reference is accepted by definition (round 0).

Light core: stdlib only; what a policy is (files, a round number) is all it knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Verdict = Literal["accepted", "rolled back"]


@dataclass(frozen=True)
class Policy:
    """A policy the rounds produced (round 0: the reference)."""

    round: int
    checkpoint: Path
    onnx: Path


def keeps(candidate_return: float, accepted_return: float, tolerance: float) -> bool:
    """True when the candidate's mean return is not worse than the accepted one's (within
    `tolerance` · |accepted|). A NaN return (no episode scored) never keeps a candidate."""
    return candidate_return >= accepted_return - tolerance * abs(accepted_return)


class Ledger:
    """Which policy is accepted, which one waits for its judgment, and what each scored."""

    def __init__(self, reference: Policy, tolerance: float = 0.0) -> None:
        self.accepted = reference
        self.accepted_return: float | None = None
        """Mean return of the episodes the accepted policy collected (None until measured)."""
        self.pending: Policy | None = None
        self.tolerance = tolerance
        self.verdicts: dict[int, Verdict] = {}

    @property
    def collecting(self) -> Policy:
        """The policy the next round collects with: the one waiting to be judged, if any."""
        return self.pending or self.accepted

    @property
    def start(self) -> Policy:
        """What the next fine-tuning starts from: the last accepted policy."""
        return self.accepted

    def record(self, mean_return: float) -> tuple[int, Verdict] | None:
        """The mean return of a round collected with `collecting`; judges the pending policy
        (returns its round and verdict), or measures the accepted one (returns None)."""
        if self.pending is None:
            if self.accepted_return is None:
                self.accepted_return = mean_return
            return None
        candidate, self.pending = self.pending, None
        assert self.accepted_return is not None
        verdict: Verdict = ("accepted" if keeps(mean_return, self.accepted_return,
                                                self.tolerance) else "rolled back")
        if verdict == "accepted":
            self.accepted, self.accepted_return = candidate, mean_return
        self.verdicts[candidate.round] = verdict
        return candidate.round, verdict

    def propose(self, policy: Policy) -> None:
        """A round's new policy: the next round collects with it and judges it."""
        if self.pending is not None:
            raise RuntimeError(f"round {self.pending.round}'s policy is still unjudged")
        self.pending = policy
