"""`robot-ppo demo`: the whole pipeline on one machine in about two minutes.

    train cartpole (PPO, in-process) → export to ONNX (parity-checked) → start the virtual
    controller (`robot-ppo serve`, PyBullet behind a pty, real time) → run the policy through
    the on-robot runtime over the serial protocol → safe stop → summary.

The return is scored from the runtime's rollout log with the task's own reward function
(sim.tasks.REWARDS), exactly as fine-tuning scores real rollouts.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_ppo.atomic_write import atomic_write
from robot_ppo.cli_config import config_dataclass, parse_config
from robot_ppo.errors import UserError, require
from robot_ppo.run_dir import check_run_dir, fresh_run_dir, prepare_run_dir

DESCRIPTION = """\
Train cartpole briefly, export it to ONNX, start the virtual motor controller on a pty and
run the policy through the on-robot runtime for a few seconds; print the return, the loop
statistics and where every file is.

Run twice, the demo writes runs/demo, then runs/demo-2, ...: an earlier demo is never
replaced unless you name it with --out and give --overwrite.

examples:
  robot-ppo demo
  robot-ppo demo --out runs/demo --train-steps 30000 --duration 10
"""


@config_dataclass(frozen=True)
class DemoConfig:
    out: Path | None = None
    """Directory for the training run, policy.onnx, rollout logs and loop statistics
    (default runs/demo, or when that holds an earlier demo the first free runs/demo-2,
    runs/demo-3, ...: the default never replaces one). A given --out must be empty."""
    overwrite: bool = False
    """Replace an earlier demo in a non-empty --out (its files are removed first)."""
    train_steps: int = 20_000
    """PPO environment steps (cartpole balances after about 20k)."""
    duration: float = 5.0
    """Seconds the policy runs on the virtual robot."""
    seed: int = 0
    """Seed of training and of the virtual robot's initial state."""
    rate: float = 0.0
    """Control rate of the runtime (0 = the spec's 60 Hz)."""


def _log(msg: str) -> None:
    print(f"demo: {msg}", file=sys.stderr, flush=True)


def _start_server(seed: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot_ppo.cli", "serve", "--robot", "cartpole", "--port", "pty",
         "--dynamics", "nominal", "--seed", str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url:
        err = proc.stderr.read() if proc.stderr else ""
        proc.kill()
        raise UserError(f"the virtual controller did not start: {err.strip()}")
    return proc, url


def score(log_dir: Path) -> dict[str, Any]:
    """Task reward over the logged episode, up to the first termination (a fall)."""
    from robot_ppo.rollout_format import read_rollouts
    from robot_ppo.spec import spec_from_dict
    from robot_ppo.state import RobotState
    from sim.tasks import REWARDS

    data = read_rollouts(log_dir)
    spec = spec_from_dict(data.spec)
    reward = REWARDS[spec.task.name]
    ep = data.episodes[0]
    n = len(ep)
    states = [RobotState(float(ep["state_t"][i]), np.asarray(ep["q"][i]),
                         np.asarray(ep["qd"][i]), np.asarray(ep["tau"][i])) for i in range(n)]
    actions = np.asarray(ep["action"], dtype=np.float64)
    total, fell = 0.0, False
    for t in range(n - 1):
        r, term = reward(spec, states[t], np.zeros(0), actions[t], actions[t - 1] if t else None,
                         states[t + 1], None)
        total += r
        if term:
            fell = True
            break
    pole = np.abs(np.asarray(ep["q"])[:, 1]).max()
    return {"return": total, "steps": n, "fell": fell, "max_pole_angle_rad": float(pole)}


DEMO_WAYS_OUT = "choose a new --out, leave --out out (a fresh runs/demo-N), or give --overwrite"


def output_dir(cfg: DemoConfig) -> Path:
    """The demo's directory: --out, or a fresh runs/demo[-N] (robot_ppo/run_dir.py)."""
    return (cfg.out if cfg.out is not None else fresh_run_dir(Path("runs/demo"))).resolve()


def validate(cfg: DemoConfig) -> None:
    checks = [(cfg.train_steps >= 1, f"--train-steps {cfg.train_steps} must be >= 1"),
              (cfg.duration > 0, f"--duration {cfg.duration:g} must be > 0 (seconds)"),
              (cfg.rate >= 0, f"--rate {cfg.rate:g} must be >= 0 (0: the spec's rate)")]
    require(checks)


def main(argv: list[str]) -> int:
    cfg = parse_config(DemoConfig, argv, "robot-ppo demo", DESCRIPTION)
    validate(cfg)
    out = output_dir(cfg)
    check_run_dir(out, overwrite=cfg.overwrite, ways_out=DEMO_WAYS_OUT)
    from robot_ppo.commands import export as export_cmd
    from robot_ppo.commands import train as train_cmd

    prepare_run_dir(out, overwrite=cfg.overwrite, ways_out=DEMO_WAYS_OUT)
    t0 = time.monotonic()
    run_dir = out / "train"
    _log(f"1/4 training cartpole for {cfg.train_steps} steps -> {run_dir}")
    rc = train_cmd.main(["--robot", "cartpole", "--steps", str(cfg.train_steps),
                         "--dynamics", "nominal", "--envs", "4", "--workers", "0",
                         "--seed", str(cfg.seed), "--out", str(run_dir),
                         "--progress", "false", "--tensorboard", "false"])
    if rc:
        return rc
    t_train = time.monotonic() - t0
    policy = out / "policy.onnx"
    _log(f"2/4 exporting -> {policy}")
    rc = export_cmd.main([str(run_dir / "checkpoint.pt"), "-o", str(policy),
                          "--recorded-steps", "500"])
    if rc:
        return rc

    _log("3/4 starting the virtual controller (robot-ppo serve, PyBullet on a pty)")
    server, url = _start_server(cfg.seed)
    from deploy.runtime import Runtime
    from deploy.runtime_config import RunConfig

    logs = out / "rollouts"
    stats_file = out / "loop_stats.json"
    try:
        _log(f"4/4 running the policy on {url} for {cfg.duration:g} s")
        summary = Runtime(RunConfig(policy=policy, port=url, duration=cfg.duration,
                                    rate=cfg.rate, log_dir=str(logs), ramp_s=0.0,
                                    stats_file=str(stats_file), quiet=True),
                          print_summary=False).run()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    result = score(logs)
    train_summary = json.loads((run_dir / "summary.json").read_text())
    report = {
        "return_on_virtual_robot": result["return"],
        "steps_on_virtual_robot": result["steps"],
        "fell": result["fell"],
        "max_pole_angle_rad": round(result["max_pole_angle_rad"], 4),
        "training_mean_return": train_summary.get("mean_return"),
        "training_s": round(t_train, 1),
        "loop": {k: summary[k] for k in ("target_rate_hz", "achieved_rate_hz", "jitter_us",
                                          "deadline_misses", "compute_us", "bus_rtt_us")},
        "stop_reason": summary["stop_reason"],
        "motors_disabled": summary["final_device"].get("disabled_confirmed"),
        "files": {"checkpoint": str(run_dir / "checkpoint.pt"), "policy": str(policy),
                  "rollouts": summary["rollout_dir"], "loop_stats": str(stats_file)},
        "total_s": round(time.monotonic() - t0, 1),
    }
    atomic_write(out / "demo_summary.json", json.dumps(report, indent=2) + "\n")
    print()
    print(f"demo: return on the virtual robot {result['return']:.0f} over {result['steps']} "
          f"steps ({'the pole fell' if result['fell'] else 'balanced throughout'}); training "
          f"mean return {train_summary.get('mean_return')}")
    print(f"demo: loop {summary['achieved_rate_hz']:.1f} Hz (target "
          f"{summary['target_rate_hz']:g}), jitter p99 {summary['jitter_us']['p99']:.0f} µs, "
          f"{summary['deadline_misses']} deadline misses, bus round trip p50 "
          f"{summary['bus_rtt_us']['p50']:.0f} µs")
    print(f"demo: files in {out}: train/checkpoint.pt, policy.onnx, rollouts/, loop_stats.json, "
          f"demo_summary.json ({report['total_s']:.0f} s in total)")
    return 0 if not summary["fault"] else 1
