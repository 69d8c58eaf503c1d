"""End to end with a recurrent (GRU) policy on a history-3 cartpole spec: checkpoint →
`robot-ppo export` (state_in_0/state_out_0, sequence parity) → `robot-ppo serve` (PyBullet
plant on a real pty) → `robot-ppo run` → safe stop; the runtime carries the GRU state and
never imports torch or PyBullet."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from robot_ppo.cli import main as cli_main

from .test_cli import FAST, RUN_WRAPPER, _env, _summary
from .test_export_recurrent import make_recurrent_actor
from .test_history_parity import history_spec

pytest.importorskip("sim")


def test_recurrent_history_policy_runs_against_serve(tmp_path: Path) -> None:
    from robot_ppo.train.checkpoint import save_checkpoint

    spec = history_spec(3)
    spec_file = tmp_path / "cartpole_h3.yaml"
    spec_file.write_text(yaml.safe_dump(spec.to_dict(), sort_keys=False))
    ckpt = tmp_path / "checkpoint.pt"
    save_checkpoint(ckpt, model=make_recurrent_actor(12, 1), optimizer=None, config={},
                    env_id=spec.gym_id, spec=spec.to_dict(), spec_hash=spec.spec_hash,
                    action_low=[-1.0], action_high=[1.0], env_steps=0, iteration=0)
    onnx_path = tmp_path / "gru.onnx"
    assert cli_main(["export", str(ckpt), "-o", str(onnx_path), "--recorded-steps",
                     "200"]) == 0
    serve = subprocess.Popen([sys.executable, "-m", "robot_ppo.cli", "serve", "--robot",
                              str(spec_file), "--port", "pty", "--watchdog-ms", "500"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env())
    try:
        assert serve.stdout is not None
        url = serve.stdout.readline().strip()
        assert url.startswith("/dev/"), (url, serve.stderr.read() if serve.stderr else "")
        run = subprocess.run([sys.executable, "-c", RUN_WRAPPER, "run", "--policy",
                              str(onnx_path), "--port", url, "--duration", "1.0",
                              "--stats-file", str(tmp_path / "stats.json"), *FAST,
                              # an untrained GRU cannot balance: without these the pole's
                              # fall (the task's rule, then its joint range) ends the run
                              # early; this test is about the recurrent state path
                              "--fall-guard", "false", "--joint-limit-margin", "100"],
                             capture_output=True, text=True, timeout=60, env=_env())
        assert run.returncode == 0, run.stderr
        s = _summary(run.stdout)
        assert s["stop_reason"] == "duration" and s["cycles"] >= 20, s
        assert s["final_device"]["disabled_confirmed"] is True
        assert run.stdout.rstrip().endswith("HEAVY_MODULES="), \
            "the runtime imported torch/pybullet/sim/gymnasium"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)
