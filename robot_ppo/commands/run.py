"""`robot-ppo run --policy policy.onnx --port URL`: the on-robot runtime (deploy.runtime).

Imports neither torch nor PyBullet (a test checks `sys.modules` after a real run).
Exit status: 0 after a normal or operator stop (duration, Ctrl-C, SIGTERM, e-stop file),
1 after a fault stop (link lost or a lost ENABLE reply, device watchdog/e-stop/fault
report, non-finite policy output, the task's termination, a joint beyond its limits) or a
refusal to start outside the task's start envelope (statistics written for both), 2 for
bad input (CLI convention; every option is range-checked before any port is opened).
"""

from __future__ import annotations

from robot_ppo.cli_config import parse_config

DESCRIPTION = """\
Run an exported policy on a robot over serial: connect (handshake, spec hash and layout
checks) -> standby (torque off, link timing, wait for the task's start envelope) ->
enable and ramp to the default pose ->
policy at a fixed rate -> safe stop (damping, then disable). Ctrl-C, SIGTERM or creating
the --estop-file stop the robot. Loop statistics are printed as JSON on exit and written
to --stats-file.

examples:
  robot-ppo run --policy policy.onnx --port /dev/ttyACM0 --duration 30
  robot-ppo serve --robot cartpole --port pty        # prints /dev/pts/N on its first line
  robot-ppo run --policy policy.onnx --port /dev/pts/N --log-dir logs --explore 0.5
"""


def main(argv: list[str]) -> int:
    from deploy.runtime import Runtime
    from deploy.runtime_config import RunConfig

    cfg = parse_config(RunConfig, argv, "robot-ppo run", DESCRIPTION)
    summary = Runtime(cfg).run()
    return 1 if summary["fault"] else 0
