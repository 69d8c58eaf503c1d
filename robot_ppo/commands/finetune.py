"""`robot-ppo finetune`: fine-tune a checkpoint on rollouts recorded on the robot.

The CLI layer: the one place of fine-tuning allowed to import the simulator (lazily), for
the task's reward function (to score logged states) and for --sim-mix envs. The algorithm
(robot_ppo.finetune) takes the reward as a callable.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from robot_ppo.errors import UserError, require

DESCRIPTION = """\
Fine-tune a checkpoint on rollouts recorded on the robot (`robot-ppo run --explore SCALE
--log-dir DIR`): rewards are recomputed from the logged states with the task's own reward
function, the critic is warmed up on the logged data, then PPO updates run against the
logged behaviour log-probabilities with a KL penalty to the original (frozen) policy.
Feed-forward and recurrent (GRU) checkpoints alike. Writes OUT/checkpoint.pt (export it
like any checkpoint), metrics.csv and summary.json, once fine-tuning has succeeded. OUT must
be empty or new (or give --overwrite), and is never the reference checkpoint's directory.
See docs/finetune.md.

examples:
  robot-ppo finetune --checkpoint runs/cartpole/checkpoint.pt --rollouts logs/day1 logs/day2
  robot-ppo finetune --checkpoint ck.pt --rollouts logs --kl-bound 0.02 --sim-mix 0.3
"""


def task_score_fn(spec: Any) -> Any:
    """ScoreFn for logged episodes from the task's pure reward function (sim.tasks.REWARDS):
    r_t, terminated_t = reward(spec, s_t, command_t, a_t, a_{t−1}, s_{t+1}). The last row has
    no successor and is scored against itself (it is only trained on when terminal)."""
    from robot_ppo.observation import observation_layout
    from robot_ppo.state import RobotState
    from sim.tasks import REWARDS

    if spec.task.name not in REWARDS:
        raise UserError(f"no reward function for task {spec.task.name!r}; known: "
                        f"{', '.join(REWARDS)}")
    reward: Any = REWARDS[spec.task.name]
    layout = observation_layout(spec)
    cmd_idx = [i for i, n in enumerate(layout) if n.startswith("command/")]
    cmd_scale = next((t.scale for t in spec.observation.terms if t.name == "command"), 1.0)
    clip = spec.action.clip

    def score(ep: Any) -> tuple[np.ndarray, np.ndarray]:
        n = len(ep)
        imu = "base_quat" in (ep.rows.dtype.names or ())
        states = [RobotState(float(ep["state_t"][i]), np.asarray(ep["q"][i]),
                             np.asarray(ep["qd"][i]), np.asarray(ep["tau"][i]),
                             ep["base_quat"][i] if imu else None,
                             ep["base_ang_vel"][i] if imu else None) for i in range(n)]
        actions = np.clip(ep["action"].astype(np.float64), -clip, clip)
        rewards = np.zeros(n)
        terminated = np.zeros(n, dtype=bool)
        for t in range(n):
            command = ep["obs"][t][cmd_idx] / cmd_scale if cmd_idx else None
            prev = actions[t - 1] if t > 0 else np.zeros_like(actions[t])
            r, term = reward(spec, states[t], command, actions[t], prev,
                             states[min(t + 1, n - 1)], None)
            rewards[t], terminated[t] = r, term
        return rewards, terminated

    return score


def option_checks(config: Any) -> list[tuple[bool, str]]:
    """(holds, message) for the fine-tuning options' ranges (also `robot-ppo adapt`'s)."""
    return [
        (config.kl_bound > 0, "--kl-bound must be > 0"),
        (config.kl_coef >= 0, "--kl-coef must be >= 0"),
        (config.iterations >= 0 and config.epochs >= 1, "--iterations >= 0, --epochs >= 1"),
        (config.value_warmup_epochs >= 0, "--value-warmup-epochs must be >= 0"),
        (config.lr > 0, "--lr must be > 0"),
        (0.0 <= config.sim_mix < 1.0, "--sim-mix must be in [0, 1)"),
        (config.is_clip > 0, "--is-clip must be > 0"),
    ]


def main(argv: list[str]) -> int:
    from robot_ppo.cli_config import parse_config
    from robot_ppo.finetune.config import FinetuneConfig

    config = parse_config(FinetuneConfig, argv,
                          "robot-ppo finetune", DESCRIPTION)
    checks = [
        (config.checkpoint is not None, "--checkpoint is required"),
        (bool(config.rollouts), "--rollouts is required (one or more rollout directories)"),
        *option_checks(config),
    ]
    require(checks)

    from robot_ppo.finetune.runner import out_dir_rule, run_finetune
    from robot_ppo.run_dir import check_run_dir, fresh_run_dir

    assert config.checkpoint is not None
    out = Path(config.out) if config.out is not None else fresh_run_dir(
        Path("runs") / f"finetune-{time.strftime('%Y%m%d-%H%M%S')}")
    # before the logs are read: a refused --out costs nothing and changes nothing
    check_run_dir(out, **out_dir_rule(config, Path(config.checkpoint)))
    from robot_ppo.finetune.sim_rollouts import SimCollector
    from robot_ppo.rollout_format import read_rollouts
    from robot_ppo.spec import spec_from_dict
    from robot_ppo.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(config.checkpoint)
    if ckpt.get("spec") is None or ckpt.get("spec_hash") is None:
        raise UserError(f"checkpoint {str(config.checkpoint)!r} was trained on a gymnasium env "
                        f"({ckpt.get('env_id')}) without a robot spec; only robot policies "
                        "can be fine-tuned on robot rollouts.")
    spec = spec_from_dict(ckpt["spec"], origin=f"{config.checkpoint} (spec)")
    data = read_rollouts(list(config.rollouts), expected_spec_hash=ckpt["spec_hash"])
    collector = None
    if config.sim_mix > 0:
        import sim
        collector = SimCollector(sim.make_env(spec, dynamics=config.sim_dynamics),
                                 seed=config.seed)
    run_finetune(ckpt, Path(config.checkpoint), data, task_score_fn(spec), config, out,
                 sim_collector=collector)
    return 0
