"""Observation history (spec `observation.history: 3`): the stacked observation built
inside the simulator env and by the runtime's observation path are identical for the
same state sequence; a history policy exports (obs_dim = frame × 3) and loads in the
runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deploy.runtime import Runtime
from deploy.runtime_config import RunConfig
from robot_ppo.observation import frame_layout
from robot_ppo.spec import BUILTIN_DIR, RobotSpec, load_spec, spec_from_dict

from .conftest import export_for

sim = pytest.importorskip("sim")


def history_spec(h: int = 3) -> RobotSpec:
    d = load_spec("cartpole").to_dict()
    d["observation"]["history"] = h
    d["urdf"] = str(Path(BUILTIN_DIR) / "cartpole.urdf")
    return spec_from_dict(d, origin="cartpole-history")


def test_sim_and_runtime_build_identical_history(tmp_path: Path) -> None:
    spec = history_spec(3)
    frame = len(frame_layout(spec))
    policy = export_for(spec, tmp_path / "hist.onnx", gain=5.0)
    rt = Runtime(RunConfig(policy=policy, port="unused", quiet=True), print_summary=False)
    rt._load()  # the runtime's policy, spec check, builder and buffers; no port opened
    assert rt.policy.obs_dim == rt.builder.obs_dim == 3 * frame

    env = sim.make_env(spec, dynamics="nominal", seed=3)
    assert env.unwrapped.sim.o_delay == 0, "nominal dynamics: no observation latency"
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    clip = rt.mapping.clip
    prev: np.ndarray | None = None
    steps = 0
    for k in range(60):
        # the same sensor reading both sides see, and the action the env last applied
        state = env.unwrapped.sim.observed_state()
        got = rt.observe(state).copy()
        np.testing.assert_array_equal(got, obs, err_msg=f"step {k}")
        if prev is None:  # the first frame fills the whole history
            np.testing.assert_array_equal(got[:frame], got[2 * frame:])
        else:  # newest first: the previous newest frame moved one slot back
            np.testing.assert_array_equal(got[frame:2 * frame], prev[:frame])
        prev = got
        steps += 1
        action = rng.uniform(-1.5, 1.5, size=spec.act_dim)
        rt.last_action[:] = np.clip(action, -clip, clip)  # as the runtime loop does
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            break
    env.close()
    assert steps >= 10
