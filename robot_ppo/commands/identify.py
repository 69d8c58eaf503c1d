"""`robot-ppo identify`: fit the simulator's dynamics parameters to robot logs.

The CLI layer only: options, then `robot_ppo.identify.runner` (which imports the simulator,
PyBullet and cmaes, so they load only when this command runs, never on the robot).
"""

from __future__ import annotations

DESCRIPTION = """\
System identification from robot logs (`robot-ppo run --log-dir DIR`, best with --explore
so the commands excite the dynamics). From logged states, PyBullet replays the logged
commands for --horizon steps; CMA-ES fits the chosen dynamics parameters to minimize the
gap between replayed and logged joint states (each dimension normalized by its spread).
Writes a dynamics file centred on the estimates, with widths from their uncertainty
(--dynamics FILE of train, eval, serve), and a JSON report: the estimates, their 95 %
bootstrap intervals, the prediction error with nominal and with identified dynamics.
Fixed-base robots only (a floating base's position is not logged). See docs/finetune.md.

examples:
  robot-ppo identify --checkpoint runs/cartpole/checkpoint.pt --rollouts logs -o dynamics.yaml
  robot-ppo identify --rollouts logs/day1 logs/day2 --params mass_scale,joint_damping=0:0.3
  robot-ppo train --resume runs/cartpole/checkpoint.pt --dynamics dynamics.yaml
"""


def main(argv: list[str]) -> int:
    from robot_ppo.cli_config import parse_config
    from robot_ppo.identify.config import IdentifyConfig

    config = parse_config(IdentifyConfig, argv, "robot-ppo identify", DESCRIPTION)
    # the optimizer first: when it is missing the CLI names the [tune] extra, which also
    # brings the simulator (a missing simulator alone would name [train], which lacks it)
    import cmaes  # noqa: F401

    from robot_ppo.identify.runner import run_identify

    run_identify(config)
    return 0
