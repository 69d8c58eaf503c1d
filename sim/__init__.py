"""PyBullet robots built from a robot spec: gymnasium envs, domain randomization, in-episode
drift, and the virtual motor controller plant.

`import sim` registers RobotPPO/CartPole-v0, RobotPPO/ArmReach-v0, RobotPPO/Quadruped-v0 and
RobotPPO/Custom-v0; each accepts `spec=` (name, path or dict) and `dynamics=` kwargs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from robot_ppo.spec import RobotSpec, list_builtin_robots

DEFAULT_SPECS = {
    "RobotPPO/CartPole-v0": "cartpole",
    "RobotPPO/ArmReach-v0": "arm",
    "RobotPPO/Quadruped-v0": "quadruped",
    "RobotPPO/Custom-v0": None,
}


def make_env(spec: RobotSpec | str | Path | dict[str, Any], dynamics: Any = "randomized",
             seed: int | None = None, **kw: Any) -> gym.Env:
    """A `RobotEnv` for `spec` on the dynamics set `dynamics`; reset with `seed` if given."""
    from sim.env import RobotEnv

    env = RobotEnv(spec, dynamics=dynamics, **kw)
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env


def list_robots() -> list[str]:
    """Built-in robot names (spec files shipped in robot_ppo/robots)."""
    return list_builtin_robots()


def _register() -> None:
    for env_id, default in DEFAULT_SPECS.items():
        if env_id in gym.registry:
            continue
        kwargs = {"spec": default} if default else {}
        gym.register(id=env_id, entry_point="sim.env:RobotEnv", kwargs=kwargs,
                     disable_env_checker=False)


_register()

__all__ = ["list_robots", "make_env"]
