"""The rounds of `robot-ppo adapt`: collect -> fine-tune -> export, with rollback.

    OUT/reference/policy.onnx      the reference, exported (round 1 collects with it)
    OUT/round_<r>/logs/            the round's rollout logs (robot-ppo run --log-dir)
    OUT/round_<r>/episodes/        each run's statistics JSON and its output
    OUT/round_<r>/finetune/        checkpoint.pt, metrics.csv, summary.json (as finetune)
    OUT/round_<r>/policy.onnx      that checkpoint, exported: the next round collects with it
    OUT/round_<r>/summary.json     the round: episodes, returns, KL, verdict
    OUT/rounds.csv                 the running table (robot_ppo/adapt/table.py)
    OUT/checkpoint.pt, policy.onnx the last accepted policy (the reference if none was)
    OUT/summary.json               the run: rounds, the accepted round, robot time, exit

Round r collects with the policy round r−1 produced (the reference in round 1), which
judges that policy (robot_ppo/adapt/rollback.py); then it fine-tunes from the last accepted
checkpoint, always leashed to the reference, on the logs of the last --window rounds. Every
file is written atomically; the table and the final files are updated after every round, so
a crash or a fault leaves a consistent directory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from robot_ppo.adapt.collect import Collection, RunArgs, collect
from robot_ppo.adapt.config import AdaptConfig
from robot_ppo.adapt.rollback import Ledger, Policy
from robot_ppo.adapt.table import RoundRow, render, write_table
from robot_ppo.atomic_write import atomic_write
from robot_ppo.errors import UserError
from robot_ppo.finetune.config import FinetuneConfig
from robot_ppo.finetune.scoring import EpisodeScore, score_rollouts
from robot_ppo.finetune.segments import ScoreFn
from robot_ppo.rollout_format import find_runs, read_rollouts


@dataclass
class Stack:
    """What the command composes for the rounds: the parts that need the simulator or
    torch, passed in so this loop imports neither."""

    score: ScoreFn
    """The task's reward on logged episodes (commands/finetune.py's task_score_fn)."""
    control_hz: float
    spec_hash: str
    export: Callable[[Path, Path], None]
    """checkpoint -> policy.onnx, as `robot-ppo export`."""
    finetune: Callable[..., dict[str, Any]]
    """robot_ppo.finetune.runner.run_finetune with the reference and the sim collector
    bound: (data, config, out_dir, start) -> its summary."""
    log: Callable[[str], None] = print


def finetune_config(cfg: AdaptConfig, rollouts: list[Path], out: Path) -> FinetuneConfig:
    """The round's FinetuneConfig: adapt's fine-tuning options as given, its own logs."""
    values = {f.name: getattr(cfg, f.name) for f in fields(FinetuneConfig) if f.init}
    values.update(rollouts=tuple(map(str, rollouts)), out=out, overwrite=False)
    return FinetuneConfig(**values)


def label(policy: Policy) -> str:
    return "reference" if policy.round == 0 else f"round_{policy.round}"


class Rounds:
    """One `robot-ppo adapt` run in OUT (see the module doc). `run()` -> exit status."""

    def __init__(self, cfg: AdaptConfig, reference: Path, out: Path, stack: Stack) -> None:
        self.cfg, self.out, self.stack, self.log = cfg, out, stack, stack.log
        self.reference = reference
        self.rows: list[RoundRow] = []
        self.summaries: dict[int, dict[str, Any]] = {}
        self.ledger = Ledger(Policy(0, reference, out / "reference" / "policy.onnx"),
                             cfg.rollback_tolerance)
        self.run_args = RunArgs(cfg.port, cfg.protocol, cfg.explore, cfg.duration,
                                cfg.start_timeout_s, cfg.run_set)

    def run(self) -> int:
        cfg = self.cfg
        self.stack.export(self.reference, self.ledger.accepted.onnx)
        self._finish("running")
        last = cfg.rounds + (1 if cfg.final_check else 0)
        for r in range(1, last + 1):
            row = RoundRow(r, label(self.ledger.collecting))
            self.rows.append(row)
            self.log(f"round {r}: collecting {cfg.episodes} episodes with {row.policy} "
                     f"(explore {cfg.explore:g})")
            try:
                collection = self._collect(r, row)
            except UserError as exc:  # `run` refused (its options, the policy, the port)
                row.status = "stopped: run refused"
                self._finish(f"round {r}: robot-ppo run refused: {exc}")
                raise
            stop = collection.stop
            if stop is not None:
                row.status = f"stopped: {stop.end}"
                self._finish(f"stopped in round {r}: {stop.end} ({stop.reason})")
                self.log(f"adapt: stopped: episode {stop.index + 1} of round {r} ended with "
                         f"{stop.end}: {stop.reason}")
                return 1
            if r > cfg.rounds:
                row.status = "final check"
                break
            try:
                self._finetune(r, row)
            except UserError as exc:
                row.status = "fine-tuning failed"
                self._finish(f"round {r}: fine-tuning failed: {exc}")
                raise UserError(f"round {r}: {exc}") from None
            self._finish("running")
        self._finish("done")
        return 0

    def _collect(self, r: int, row: RoundRow) -> Collection:
        rdir = self.out / f"round_{r}"
        policy = self.ledger.collecting
        collection = collect(self.run_args, policy.onnx, rdir, self.cfg.episodes,
                             self.cfg.seed + 1000 * r, self.log)
        scores = self._scores(rdir / "logs")
        row.episodes = len(scores)
        row.robot_s = float(sum(s.seconds for s in scores))
        row.mean_return = float(np.mean([s.ret for s in scores])) if scores else math.nan
        row.falls = collection.count("fall")
        row.safety_stops = collection.count("safety")
        # a round cut short by a fault or a stop judges nothing: its few episodes say more
        # about the robot than about the policy (a safety stop does count against it)
        if scores and collection.stop is None:
            judged = self.ledger.record(row.mean_return)
            if judged is not None:
                self._verdict(*judged)
        self.summaries[r] = {
            "round": r, "collected_with": row.policy, "policy_onnx": str(policy.onnx),
            "explore": self.cfg.explore,
            "episodes": [{"end": e.end, "stop_reason": e.reason} for e in collection.episodes],
            "logged": [asdict(s) for s in scores], "row": asdict(row)}
        return collection

    def _scores(self, logs: Path) -> list[EpisodeScore]:
        if not logs.is_dir() or not find_runs(logs):
            return []
        data = read_rollouts(logs, expected_spec_hash=self.stack.spec_hash)
        return score_rollouts(data, self.stack.score, self.stack.control_hz)

    def _verdict(self, round_: int, verdict: str) -> None:
        self.rows[round_ - 1].status = verdict
        self.log(f"  round {round_}'s policy: {verdict} (mean return "
                 f"{self.rows[round_].mean_return:.4g} against "
                 f"{self.ledger.accepted_return:.4g} of {label(self.ledger.accepted)})")

    def _finetune(self, r: int, row: RoundRow) -> None:
        cfg = self.cfg
        first = 1 if cfg.window <= 0 else max(1, r - cfg.window + 1)
        logs = [self.out / f"round_{k}" / "logs" for k in range(first, r + 1)]
        logs = [p for p in logs if p.is_dir() and find_runs(p)]
        if not logs:
            raise UserError("no episode was logged in this round, nothing to fine-tune on")
        rdir = self.out / f"round_{r}"
        start = self.ledger.start
        self.log(f"round {r}: fine-tuning from {label(start)} on rounds {first}..{r}, "
                 f"leashed to the reference")
        data = read_rollouts(logs, expected_spec_hash=self.stack.spec_hash)
        summary = self.stack.finetune(data, finetune_config(cfg, logs, rdir / "finetune"),
                                      rdir / "finetune",
                                      None if start.round == 0 else start.checkpoint)
        policy = Policy(r, rdir / "finetune" / "checkpoint.pt", rdir / "policy.onnx")
        self.stack.export(policy.checkpoint, policy.onnx)
        row.kl_to_reference = float(summary["kl_to_reference"])
        row.status = "pending"
        self.ledger.propose(policy)
        self.summaries[r]["finetune"] = {
            "started_from": label(start), "rollouts": [str(p) for p in logs],
            "kl_to_reference": row.kl_to_reference, "kl_bound": cfg.kl_bound,
            "summary": str(rdir / "finetune" / "summary.json")}

    def _finish(self, state: str) -> None:
        """Table, round summaries and the final files as they stand now (atomic writes)."""
        pending = self.ledger.pending
        if pending is not None and state != "running":
            self.rows[pending.round - 1].status = "unjudged"
        for r, summary in self.summaries.items():
            summary["row"] = asdict(self.rows[r - 1])
            atomic_write(self.out / f"round_{r}" / "summary.json",
                         json.dumps(summary, indent=1, default=str))
        write_table(self.out / "rounds.csv", self.rows)
        accepted = self.ledger.accepted
        atomic_write(self.out / "checkpoint.pt", accepted.checkpoint.read_bytes())
        atomic_write(self.out / "policy.onnx", accepted.onnx.read_bytes())
        run = {"state": state, "reference": str(self.reference),
               "accepted": label(accepted), "accepted_return": self.ledger.accepted_return,
               "rounds": len([r for r in self.rows if r.round <= self.cfg.rounds]),
               "robot_s": float(sum(r.robot_s for r in self.rows)),
               "verdicts": {f"round_{k}": v for k, v in self.ledger.verdicts.items()}}
        atomic_write(self.out / "summary.json", json.dumps(run, indent=1, default=str))
        if self.rows:
            self.log(render(self.rows))
