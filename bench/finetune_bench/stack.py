"""The real stack, as a robot owner drives it: `robot-ppo` CLI children, `serve --dynamics
shifted` behind a pty standing in for the robot, one `robot-ppo run` per episode.

Timing. In real time the run's loop paces at the spec's control rate against a serve that
steps its physics on its own clock. With --lockstep, serve steps one control period per
command, so the loop may run SPEEDUP times faster without changing what the robot sees;
only the options that are per loop cycle are rescaled so that they mean the same per
simulated second (the position-target rate limit, the ramp, the episode length).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from robot_ppo.adapt.collect import classify, run_episode
from robot_ppo.commands.finetune import task_score_fn
from robot_ppo.finetune.scoring import EpisodeScore, score_rollouts
from robot_ppo.rollout_format import find_runs, read_rollouts
from robot_ppo.spec import RobotSpec

CLI = [sys.executable, "-m", "robot_ppo.cli"]


class BenchError(Exception):
    """A step of the benchmark failed; the message names it and where its output is."""


def cli(args: list[str], log: Path) -> str:
    """One `robot-ppo ARGS` child, its output kept in `log`; its stdout on success."""
    log.parent.mkdir(parents=True, exist_ok=True)
    print("$ robot-ppo", " ".join(args), flush=True)
    res = subprocess.run([*CLI, *args], text=True, capture_output=True)
    log.write_text(f"$ robot-ppo {' '.join(args)}\n{res.stdout}\n{res.stderr}")
    if res.returncode != 0:
        tail = " | ".join(res.stderr.strip().splitlines()[-3:])
        raise BenchError(f"robot-ppo {args[0]} exited {res.returncode} (see {log}): {tail}")
    return res.stdout


@dataclass(frozen=True)
class Timing:
    """How episodes are paced: real time, or lockstep at SPEEDUP × the control rate."""

    lockstep: bool
    speedup: float
    spec: RobotSpec

    @property
    def rate(self) -> float:
        hz = self.spec.rates.control_hz
        return hz * self.speedup if self.lockstep else hz

    @property
    def episode_s(self) -> float:
        """Robot (simulated) seconds of one full-length episode."""
        return self.spec.task.episode_steps / self.spec.rates.control_hz

    @property
    def duration(self) -> float:
        """`run --duration` (wall seconds of the loop) for one full-length episode; in
        lockstep a cap three times that, the episode's end being `run --steps`."""
        return self.spec.task.episode_steps / self.rate * (3.0 if self.lockstep else 1.0)

    def run_set(self) -> list[str]:
        """`run` options as KEY=VALUE (for `--set` and adapt's `--run-set`)."""
        # no real-time priority or pinning: the 2-core bench machine is shared
        out = ["rt_priority=0", "cpu=-2", "standby_s=0.1"]
        if self.lockstep:
            # the loop's timing does not matter in lockstep: never refuse it as too slow
            # and a full-length episode is episode_steps cycles, whatever cycles a loaded
            # machine skips (a --duration alone would cut it short)
            out += [f"rate={self.rate!r}", "rate_margin=50.0", "link_timeout_ms=2000.0",
                    f"steps={self.spec.task.episode_steps}",
                    f"ramp_s={2.0 / self.speedup!r}", f"damping_s={0.5 / self.speedup!r}"]
            if self.spec.action.mode == "position":
                # the default is each joint's velocity limit per cycle at the loop's rate
                v = min(j.velocity_limit for j in self.spec.actuated)
                out.append(f"position_rate_limit={v / self.spec.rates.control_hz!r}")
        return out

    def label(self) -> str:
        return f"lockstep x{self.speedup:g}" if self.lockstep else "real time"


@contextmanager
def serve(robot: str, seed: int, timing: Timing, log: Path) -> Iterator[str]:
    """`serve --dynamics shifted --reset-after-disable` behind a pty: every run after the
    first finds a fresh robot (seeds SEED+1, SEED+2, ...), as an operator would set it up.
    Yields the port."""
    args = [*CLI, "serve", "--robot", robot, "--port", "pty", "--dynamics", "shifted",
            "--seed", str(seed), "--reset-after-disable", "true"]
    if timing.lockstep:
        args += ["--lockstep", "true", "--watchdog-ms", "0"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as err:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            assert proc.stdout is not None
            port = proc.stdout.readline().split()
            if not port:
                raise BenchError(f"robot-ppo serve printed no port (see {log})")
            yield port[0]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def scores(logs: Path, spec: RobotSpec) -> list[EpisodeScore]:
    """Every logged episode under `logs`, scored with the task's reward."""
    if not logs.is_dir() or not find_runs(logs):
        return []
    data = read_rollouts(logs, expected_spec_hash=spec.spec_hash)
    return score_rollouts(data, task_score_fn(spec), spec.rates.control_hz)


def evaluate(policy: Path, spec: RobotSpec, out: Path, episodes: int, seed: int,
             timing: Timing, reuse: bool) -> list[EpisodeScore]:
    """`episodes` runs of `policy` with `--explore 0` on serve seeds SEED, SEED+1, ...;
    a fall or a safety stop ends an episode, not the evaluation. Kept in out/scores.json."""
    done = out / "scores.json"
    if reuse and done.is_file():
        return [EpisodeScore(**s) for s in json.loads(done.read_text())["episodes"]]
    if out.exists():
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True)
    ends: list[str] = []
    with serve(spec.name, seed, timing, out / "serve.log") as port:
        for k in range(episodes):
            stats = out / f"episode_{k:03d}.json"
            argv = ["--policy", str(policy), "--port", port, "--log-dir", str(out / "logs"),
                    "--explore", "0", "--duration", repr(timing.duration), "--seed", str(k),
                    "--start-timeout-s", "5", "--stats-file", str(stats)]
            for item in timing.run_set():
                argv += ["--set", item]
            rc, _ = run_episode(argv, out / f"episode_{k:03d}.log")
            info: dict[str, Any] = (json.loads(stats.read_text()) if stats.is_file() else
                                    {"stop_reason": f"exited {rc}", "fault": True})
            ends.append(classify(info))
            if ends[-1] in ("refused", "fault", "operator"):
                raise BenchError(f"evaluation episode {k} of {policy}: {ends[-1]} "
                                 f"({info.get('stop_reason', '')}); see {out}")
    result = scores(out / "logs", spec)
    done.write_text(json.dumps({"policy": str(policy), "timing": timing.label(),
                                "ends": ends, "episodes": [asdict(s) for s in result]}))
    return result
