"""On the GPU machine: `robot-ppo run --provider cuda` (and cpu, side by side) against a
virtual controller (firmware_bridge device logic, ideal plant, real pty), then a NaN from
the model on CUDA: the safety layer must hold, damp and disable, every command in limits."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deploy.inference import OnnxPolicy
from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.spec import load_spec
from tests.deploy.controller import virtual_controller

spec = load_spec("cartpole")
eff = np.array([j.effort_limit for j in spec.joints])
pol = Path(".gpucheck/cartpole_mlp.onnx")
tmp = Path(tempfile.mkdtemp())


def in_limits(cmds: list) -> bool:
    return bool(cmds) and all(np.all(np.isfinite(c.tau)) and np.all(np.abs(c.tau) <= eff + 1e-9)
                              for c in cmds)


for provider in ("cuda", "cpu"):
    with virtual_controller(spec) as srv:
        stats = tmp / f"{provider}.json"
        r = subprocess.run([sys.executable, "-m", "robot_ppo.cli", "run", "--policy", str(pol),
                            "--port", srv.url, "--robot", "cartpole", "--provider", provider,
                            "--duration", "3", "--quiet", "true", "--rt-priority", "0",
                            "--stats-file", str(stats)], capture_output=True, text=True,
                           timeout=120)
        s = json.loads(stats.read_text()) if stats.exists() else {}
        print(f"run --provider {provider}: rc {r.returncode}",
              {k: s.get(k) for k in ("provider", "stop_reason", "fault", "achieved_rate_hz",
                                     "deadline_misses", "cycles", "compute_us")})
        if r.returncode:
            print(r.stderr[-2000:])
        print("  motor commands finite and within effort limits:",
              in_limits(srv.device.plant.commands), len(srv.device.plant.commands))

real_step = OnnxPolicy.step
calls = {"n": 0}


def nan_after_40(self, obs):
    t, m, s = real_step(self, obs)
    calls["n"] += 1
    if calls["n"] > 40:
        t[:] = np.nan
        m[:] = np.inf
    return t, m, s


OnnxPolicy.step = nan_after_40
with virtual_controller(spec) as srv:
    s = Runtime(RunConfig(policy=pol, port=srv.url, provider="cuda", duration=3.0,
                          nan_hold_cycles=3, rt_priority=0, cpu=-2, standby_s=0.1,
                          damping_s=0.2, quiet=True, stats_file=str(tmp / "nan.json"))).run()
    print("NaN on cuda:", {k: s.get(k) for k in ("provider", "stop_reason", "fault",
                                                 "safety_held_cycles", "cycles")},
          "device enabled after:", srv.device.enabled,
          "commands in limits:", in_limits(srv.device.plant.commands))
