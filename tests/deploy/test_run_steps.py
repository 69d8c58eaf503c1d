"""`run --steps N` ends policy control after exactly N cycles: real PyBullet cartpole behind
`robot-ppo serve --lockstep` on a pty, the loop at four times the control rate; the log holds
N steps, and --duration, far longer, is only the cap. (The untrained policy drops the pole
after ~19 cycles, which ends a run by termination; 12 ends it first.)"""

from __future__ import annotations

from pathlib import Path

from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.rollout_format import read_rollouts

from .conftest import served


def test_steps_end_the_episode_after_exactly_that_many_cycles(cartpole_onnx: Path,
                                                              tmp_path: Path) -> None:
    with served("--robot", "cartpole", "--lockstep", "--latency-ms", "0", "--watchdog-ms",
                "0") as url:
        cfg = RunConfig(policy=cartpole_onnx, port=url, rate=960.0, duration=30.0, steps=12,
                        ramp_s=0.2, rt_priority=0, cpu=-2, standby_s=0.05, damping_s=0.05,
                        rate_margin=50.0, link_timeout_ms=1000.0, log_dir=str(tmp_path),
                        stats_file="", quiet=True)
        summary = Runtime(cfg).run()
    assert not summary["fault"] and summary["stop_reason"] == "duration", summary
    episodes = read_rollouts(tmp_path).episodes
    assert [len(ep["obs"]) for ep in episodes] == [12]
