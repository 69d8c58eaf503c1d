"""The rollback rule of `robot-ppo adapt` on hand-made round results, and the table."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from robot_ppo.adapt.rollback import Ledger, Policy, keeps
from robot_ppo.adapt.table import RoundRow, render, to_csv


def _policy(r: int) -> Policy:
    return Policy(r, Path(f"round_{r}/checkpoint.pt"), Path(f"round_{r}/policy.onnx"))


def test_keeps_compares_with_the_accepted_return_within_the_tolerance() -> None:
    assert keeps(100.0, 100.0, 0.0)
    assert not keeps(99.9, 100.0, 0.0)
    assert keeps(95.0, 100.0, 0.05) and not keeps(94.9, 100.0, 0.05)
    assert keeps(-105.0, -100.0, 0.05)  # negative returns: the tolerance is of |return|
    assert not keeps(math.nan, 100.0, 0.5)  # no scored episode never keeps a policy


def test_a_worse_round_is_rolled_back_and_the_next_starts_from_the_last_accepted() -> None:
    ledger = Ledger(_policy(0))
    # round 1 collects with the reference: it is measured, not judged
    assert ledger.collecting.round == 0 and ledger.record(120.0) is None
    assert ledger.accepted_return == 120.0
    ledger.propose(_policy(1))
    # round 2 collects with round 1's policy: better, so accepted
    assert ledger.collecting.round == 1
    assert ledger.record(150.0) == (1, "accepted")
    assert ledger.start.round == 1 and ledger.accepted_return == 150.0
    ledger.propose(_policy(2))
    # round 3 collects with round 2's policy: worse than round 1's, so rolled back ...
    assert ledger.record(140.0) == (2, "rolled back")
    # ... and round 3's fine-tuning starts from round 1's checkpoint, the last accepted
    assert ledger.start == _policy(1) and ledger.accepted_return == 150.0
    ledger.propose(_policy(3))
    # round 4 judges round 3's policy against round 1's return, not round 2's
    assert ledger.collecting.round == 3
    assert ledger.record(145.0) == (3, "rolled back")
    ledger.propose(_policy(4))
    assert ledger.record(151.0) == (4, "accepted")
    assert ledger.accepted == _policy(4)
    assert ledger.verdicts == {1: "accepted", 2: "rolled back", 3: "rolled back",
                               4: "accepted"}


def test_a_round_that_produced_nothing_does_not_replace_the_measurement() -> None:
    ledger = Ledger(_policy(0), tolerance=0.1)
    ledger.record(100.0)
    ledger.propose(_policy(1))
    assert ledger.record(91.0) == (1, "accepted")  # within 10 %
    assert ledger.record(10.0) is None  # the accepted policy collected again: kept
    assert ledger.accepted_return == 91.0


def test_the_table_writes_every_column_and_leaves_unknown_cells_empty() -> None:
    rows = [RoundRow(1, "reference", 4, 20.5, 250.0, 1, 0, 0.031, "accepted"),
            RoundRow(2, "round_1", 4, 22.0, 300.0, 0, 1)]
    parsed = list(csv.DictReader(to_csv(rows).splitlines()))
    assert parsed[0]["kl_to_reference"] == "0.031" and parsed[0]["status"] == "accepted"
    assert parsed[1]["kl_to_reference"] == "" and parsed[1]["safety_stops"] == "1"
    text = render(rows)
    assert text.splitlines()[0].split()[0] == "round" and "round_1" in text
