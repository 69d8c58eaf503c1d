"""An episode's dynamics for a fixed seed: drawn at reset, drifted, pushed, applied and (ADR)
reported, held equal to values recorded from the code before sim/episode_dynamics.py owned
them (tests/sim/data/episode_dynamics_golden.json).

The dynamics values come from numpy generators only, so they are compared exactly; the
observations (which show that the values reached the physics) within 1e-6, since they go
through PyBullet. Regenerate (only when a change of the numbers is intended, and say why
in the commit): `PYTHONPATH=. python tests/sim/test_episode_dynamics_golden.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.adr import AdrConfig
from sim.adr_dynamics import SharedAdr
from sim.plant import PyBulletPlant

GOLDEN = Path(__file__).parent / "data" / "episode_dynamics_golden.json"

# drift, events and pushes far more often than the defaults, so a short episode shows them
BUSY = {"base": "randomized", "drift": {"rate": 0.5, "event_rate": 3.0, "period_s": 0.05},
        "push": {"interval_s": 0.3, "velocity": 0.4}}

CASES: dict[str, dict[str, Any]] = {
    "cartpole-randomized-0": {"robot": "cartpole", "dynamics": "randomized", "seed": 0},
    "cartpole-randomized-1": {"robot": "cartpole", "dynamics": "randomized", "seed": 1},
    "cartpole-shifted-3": {"robot": "cartpole", "dynamics": "shifted", "seed": 3},
    "cartpole-nominal-4": {"robot": "cartpole", "dynamics": "nominal", "seed": 4},
    "cartpole-busy-5": {"robot": "cartpole", "dynamics": BUSY, "seed": 5},
    "arm-randomized-6": {"robot": "arm", "dynamics": "randomized", "seed": 6},
    "quadruped-busy-7": {"robot": "quadruped", "dynamics": BUSY, "seed": 7, "steps": 48},
    "cartpole-adr-8": {"robot": "cartpole", "dynamics": "adr", "seed": 8, "episodes": 30,
                       "steps": 6},
    "quadruped-adr-9": {"robot": "quadruped", "dynamics": "adr", "seed": 9, "episodes": 3,
                        "steps": 10, "privileged": True},
}


def record_env(case: dict[str, Any]) -> dict[str, Any]:
    """Episodes of `case` with seeded random actions: per step the dynamics values and the
    observation; at an episode's end the ADR metrics."""
    kw: dict[str, Any] = {"privileged": case.get("privileged", False)}
    if case["dynamics"] == "adr":
        # fast-moving ranges, fed a fixed performance: the draws follow ADR's decisions
        kw.update(adr_share=SharedAdr(), performance=lambda info, term: 0.9,
                  adr_config=AdrConfig(queue_size=2, boundary_prob=0.5))
    env = sim.make_env(case["robot"], case["dynamics"], **kw)
    u: Any = env.unwrapped
    rng = np.random.default_rng(case["seed"] + 100)
    steps = case.get("steps", 120)
    episodes = []
    for e in range(case.get("episodes", 1)):
        obs, info = env.reset(seed=case["seed"] if e == 0 else None)
        ep: dict[str, Any] = {"dynamics": [list(info["dynamics"].values())],
                              "obs": [obs.tolist()], "end": None}
        for k in range(steps):
            if case.get("episodes", 1) > 1 and k == 0:
                u._steps = u.robot_spec.task.episode_steps - steps  # truncate after `steps`
            a = rng.uniform(-1.0, 1.0, env.action_space.shape).astype(np.float32)
            obs, _, term, trunc, info = env.step(a)
            ep["dynamics"].append(list(info["dynamics"].values()))
            ep["obs"].append(obs.tolist())
            if "privileged" in info:
                ep.setdefault("privileged", []).append(info["privileged"].tolist())
            if term or trunc:
                ep["end"] = info.get("episode_metrics")
                break
        episodes.append(ep)
    env.close()
    return {"episodes": episodes}


def record_plant(seed: int) -> dict[str, Any]:
    """The virtual controller's plant: the same draw as the env, stepped on zero commands."""
    plant = PyBulletPlant("cartpole", "randomized", seed=seed)
    cmd = plant.mapping.to_command(plant.mapping.targets(np.zeros(plant.spec.act_dim)))
    out: dict[str, Any] = {"dynamics": [list(plant.dynamics_values.values())], "q": []}
    for _ in range(60):
        plant.step(cmd)  # type: ignore[arg-type]
        out["dynamics"].append(list(plant.dynamics_values.values()))
        out["q"].append(plant.read().q.tolist())
    plant.close()
    return out


def record_all() -> dict[str, Any]:
    data = {name: record_env(case) for name, case in CASES.items()}
    data["plant-cartpole-11"] = record_plant(11)
    return data


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN.read_text())
    return data


@pytest.mark.parametrize("name", list(CASES))
def test_an_episodes_dynamics_match_the_recorded_ones(golden: dict[str, Any], name: str
                                                      ) -> None:
    got, want = record_env(CASES[name]), golden[name]
    assert len(got["episodes"]) == len(want["episodes"])
    for e, (g, w) in enumerate(zip(got["episodes"], want["episodes"])):
        assert g["dynamics"] == w["dynamics"], f"episode {e}: dynamics values differ"
        assert g["end"] == w["end"], f"episode {e}: ADR metrics differ"
        np.testing.assert_allclose(g["obs"], w["obs"], rtol=1e-6, atol=1e-6)
        if "privileged" in w:
            np.testing.assert_allclose(g["privileged"], w["privileged"], rtol=1e-6, atol=1e-6)


def test_the_plants_dynamics_match_the_recorded_ones(golden: dict[str, Any]) -> None:
    got, want = record_plant(11), golden["plant-cartpole-11"]
    assert got["dynamics"] == want["dynamics"]
    np.testing.assert_allclose(got["q"], want["q"], rtol=1e-6, atol=1e-6)


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(record_all()) + "\n")
    print(f"wrote {GOLDEN}")
