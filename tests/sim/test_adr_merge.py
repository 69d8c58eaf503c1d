"""Merging ADR across processes (torchrun, robot_ppo/train/distributed_sync.py): each process
journals the episode results its ADR and curriculum receive (`take_reports`), and
`merge_reports` replays every process's journal from the last agreed state."""

from __future__ import annotations

import numpy as np

import sim
from sim.adr import AdrConfig
from sim.adr_dynamics import SharedAdr

from .test_adr_dynamics import run_episodes

BIG = AdrConfig(queue_size=1000, high_threshold=0.5, low_threshold=0.25, boundary_prob=0.5)
SMALL = AdrConfig(queue_size=2, high_threshold=0.5, low_threshold=0.25, boundary_prob=0.5)


def _env(config: AdrConfig, perf: float, seed: int):
    return sim.make_env("cartpole", "adr", seed=seed, adr_config=config,
                        adr_share=SharedAdr(), performance=lambda info, term: perf)


def _queued(state) -> int:
    return sum(len(q) for sides in state["queues"].values() for q in sides.values())


def test_merged_state_holds_every_process_episodes():
    """Nothing is dropped: with queues too long to clear, the merged queues and reference
    hold every episode of both processes, and both processes agree on the result."""
    a, b = _env(BIG, 1.0, 0), _env(BIG, 0.0, 1)
    base = a.unwrapped.get_train_state()
    b.unwrapped.set_train_state(base)
    for env in (a, b):
        assert env.unwrapped.take_reports() == {"adr": [], "curriculum": []}
    run_episodes(a, 7)
    run_episodes(b, 5)
    reports = [a.unwrapped.take_reports(), b.unwrapped.take_reports()]
    assert [len(r["adr"]) for r in reports] == [7, 5]
    assert [len(r["curriculum"]) for r in reports] == [7, 5]
    for env in (a, b):
        env.unwrapped.merge_reports(base, reports)
    merged = [env.unwrapped.get_train_state() for env in (a, b)]
    assert merged[0] == merged[1]
    assert _queued(merged[0]) + len(merged[0]["reference"]) == 12
    # the results are the processes' own: a's 1.0s first, then b's 0.0s
    results = [p for r in reports for _, p in r["adr"]]
    assert results == [1.0] * 7 + [0.0] * 5
    # the replay itself is not journaled again
    assert a.unwrapped.take_reports() == {"adr": [], "curriculum": []}
    for env in (a, b):
        env.close()


def test_merge_overrides_what_one_process_decided_alone():
    """A process whose own short queues moved a boundary between exchanges ends with the
    merged decision, which also weighs the other process's (failing) episodes."""
    a, b = _env(SMALL, 1.0, 0), _env(SMALL, 0.0, 1)
    base = a.unwrapped.get_train_state()
    b.unwrapped.set_train_state(base)
    a.unwrapped.take_reports()
    b.unwrapped.take_reports()
    run_episodes(a, 40)
    run_episodes(b, 40)
    alone = a.unwrapped.get_train_state()["ranges"]
    assert alone != base["ranges"]  # a alone (always succeeding) widened some range
    reports = [a.unwrapped.take_reports(), b.unwrapped.take_reports()]
    for env in (a, b):
        env.unwrapped.merge_reports(base, reports)
    merged = [env.unwrapped.get_train_state() for env in (a, b)]
    assert merged[0] == merged[1]
    assert merged[0]["ranges"] != alone
    # a fresh ADR fed all 80 results in the same order decides the same
    c = _env(SMALL, 0.5, 2)
    c.unwrapped.set_train_state(base)
    adr = c.unwrapped.episode.adr
    for r in reports:
        for pinned, perf in r["adr"]:
            adr.report(pinned, perf)
    assert {k: list(v) for k, v in adr.ranges().items()} == merged[0]["ranges"]
    for env in (a, b, c):
        env.close()


def test_no_reports_without_adr():
    env = sim.make_env("cartpole", "randomized", seed=0)
    assert env.unwrapped.take_reports() is None
    env.unwrapped.merge_reports({}, [])  # nothing to merge into: no error
    env.reset(seed=0)
    env.step(np.zeros(1, dtype=np.float32))
    env.close()
