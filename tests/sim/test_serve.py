"""`robot-ppo serve`: prints its port first, serves the simulated robot, stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np

import sim
from firmware_bridge import MotorBus
from robot_ppo.action import ActionMapping
from robot_ppo.spec import load_spec


def test_serve_lockstep_matches_env_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot_ppo.cli", "serve", "--robot", "cartpole", "--port",
         "socket://127.0.0.1:0", "--lockstep", "--duration", "60", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:")
        spec = load_spec("cartpole")
        mapping = ActionMapping(spec)
        env = sim.make_env(spec, "nominal")
        env.reset(seed=3)
        bus = MotorBus(url, spec.n_joints, bytes.fromhex(spec.spec_hash)[:8])
        bus.connect()
        bus.enable()
        for k in range(30):
            a = np.array([np.sin(k / 4)])
            cmd = mapping.to_command(mapping.targets(a))
            state = bus.send_command(cmd)  # type: ignore[arg-type]
            env.step(a)
            # the wire is fixed-point: positions agree to its resolution
            np.testing.assert_allclose(state.q, env.unwrapped.sim.true_state().q, atol=1e-3)
        bus.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _serve(*extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "robot_ppo.cli", "serve", "--robot", "cartpole", "--port",
         "socket://127.0.0.1:0", "--duration", "60", "--seed", "3", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _pole_after(proc: subprocess.Popen[str], wait_s: float) -> tuple[float, str]:
    """(pole angle read over the wire after `wait_s` of serving, serve's banner line)."""
    assert proc.stdout is not None and proc.stderr is not None
    url = proc.stdout.readline().strip()
    banner = next(ln for ln in proc.stderr if ln.startswith("robot-ppo serve:"))
    time.sleep(wait_s)
    spec = load_spec("cartpole")
    bus = MotorBus(url, spec.n_joints, bytes.fromhex(spec.spec_hash)[:8])
    bus.connect()
    q = float(bus.read_state().q[1])
    bus.close()
    return q, banner


def test_serve_holds_the_robot_until_enable_and_names_its_joints() -> None:
    env = sim.make_env(load_spec("cartpole"), "nominal")
    env.reset(seed=3)
    start = float(env.unwrapped.sim.true_state().q[1])
    env.close()
    for extra, held in (((), True), (("--hold", "false"), False)):
        proc = _serve(*extra)
        try:
            pole, banner = _pole_after(proc, 1.5)
            assert "(1 motor + 1 sensed-only joint, 60 Hz" in banner, banner
            if held:  # motors off, never enabled: the simulated robot stood still
                assert abs(pole - start) < 1e-3, (pole, start)
            else:  # the free pole fell (it is past 0.7 rad after 1 s)
                assert abs(pole - start) > 0.3, (pole, start)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
