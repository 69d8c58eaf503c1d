"""Collect a round's episodes on the robot: one `robot-ppo run --explore S --log-dir` each.

Each episode is the `run` command itself in a child process, so collection is exactly what
a robot owner runs by hand: the runtime's limits, standby and start envelope, safe stop and
fault handling, its real-time loop free of torch (which adapt's own process holds). The
run's statistics file says how the episode ended:

    ok        the --duration elapsed
    fall      the task's termination (pole fallen, robot tipped): an ordinary episode end
    safety    a safety stop (joint beyond its limits, the safety latch): ends the round
    refused   the robot never entered the start envelope within --start-timeout-s
    operator  Ctrl-C, SIGTERM or the e-stop file
    fault     the robot or the link failed (device fault/watchdog/e-stop report, link lost)

refused, operator and fault end adapt (non-zero exit) after what was written is kept.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from robot_ppo.errors import UserError

End = Literal["ok", "fall", "safety", "refused", "operator", "fault"]
ROUND_ENDING: tuple[End, ...] = ("safety", "refused", "operator", "fault")
"""Ends after which the round collects no further episode."""
ADAPT_ENDING: tuple[End, ...] = ("refused", "operator", "fault")
"""Ends after which adapt stops (non-zero exit)."""

CLI = [sys.executable, "-m", "robot_ppo.cli"]


def classify(stats: dict[str, Any]) -> End:
    """How a run ended, from its statistics (deploy/runtime.py's stop reasons)."""
    reason = str(stats.get("stop_reason", ""))
    if reason == "duration":
        return "ok"
    if reason.startswith("task termination"):
        return "fall"
    if reason.startswith(("joint limit", "safety:")):
        return "safety"
    if reason.startswith("refused to start"):
        return "refused"
    if not stats.get("fault"):
        return "operator"  # the e-stop file or a signal: the runtime stopped, not failed
    return "fault"


@dataclass
class Episode:
    index: int
    end: End
    reason: str


@dataclass
class Collection:
    episodes: list[Episode] = field(default_factory=list)

    @property
    def stop(self) -> Episode | None:
        """The episode whose end must stop adapt, if any."""
        return next((e for e in self.episodes if e.end in ADAPT_ENDING), None)

    def count(self, end: End) -> int:
        return sum(e.end == end for e in self.episodes)


@dataclass(frozen=True)
class RunArgs:
    """What every episode's `robot-ppo run` gets besides its policy, log dir and seed."""

    port: str
    protocol: str
    explore: float
    duration: float
    start_timeout_s: float
    extra: tuple[str, ...]
    """KEY=VALUE pairs, passed as `--set KEY=VALUE`."""

    def argv(self, policy: Path, log_dir: Path, stats: Path, seed: int) -> list[str]:
        out = ["--policy", str(policy), "--port", self.port, "--log-dir", str(log_dir),
               "--explore", repr(self.explore), "--duration", repr(self.duration),
               "--start-timeout-s", repr(self.start_timeout_s), "--seed", str(seed),
               "--stats-file", str(stats)]
        if self.protocol:
            out += ["--protocol", self.protocol]
        for item in self.extra:
            out += ["--set", item]
        return out


def run_episode(args: list[str], output: Path) -> tuple[int, bool]:
    """One `robot-ppo run`, its stdout and stderr in `output`; (exit status, whether the
    operator pressed Ctrl-C). Ctrl-C reaches the child too (same process group): the
    runtime then stops the robot safely, so this waits for it rather than killing it."""
    interrupted = False
    with output.open("w") as fh:
        proc = subprocess.Popen([*CLI, "run", *args], stdout=fh, stderr=subprocess.STDOUT)
        while True:
            try:
                return proc.wait(), interrupted
            except KeyboardInterrupt:
                interrupted = True


def collect(run: RunArgs, policy: Path, round_dir: Path, episodes: int, seed0: int,
            log: Callable[[str], None]) -> Collection:
    """Up to `episodes` episodes into round_dir/logs; each run's statistics and output in
    round_dir/episodes/. Stops early at a round-ending episode (see the module doc)."""
    ep_dir = round_dir / "episodes"
    ep_dir.mkdir(parents=True, exist_ok=True)
    out = Collection()
    for k in range(episodes):
        stats_path = ep_dir / f"episode_{k:03d}.json"
        rc, interrupted = run_episode(run.argv(policy, round_dir / "logs", stats_path,
                                               seed0 + k), ep_dir / f"episode_{k:03d}.log")
        if rc == 2 and not stats_path.is_file():
            tail = (ep_dir / f"episode_{k:03d}.log").read_text().strip().splitlines()[-1:]
            raise UserError(f"robot-ppo run refused its options: {' '.join(tail)}")
        stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {
            "stop_reason": f"robot-ppo run exited {rc} without statistics", "fault": True}
        end = "operator" if interrupted else classify(stats)
        out.episodes.append(Episode(k, end, str(stats.get("stop_reason", ""))))
        log(f"  episode {k + 1}/{episodes}: {end} ({stats.get('stop_reason', '')})")
        if end in ROUND_ENDING:
            break
    return out
