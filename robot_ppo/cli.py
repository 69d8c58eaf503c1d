"""The `robot-ppo` command: the composition root.

Each subcommand lives in `robot_ppo/commands/<name>.py` with a `main(argv) -> int`.
They are imported lazily so that `robot-ppo run` on the robot never imports
torch or PyBullet.
"""

from __future__ import annotations

import importlib
import sys

from robot_ppo import __version__
from robot_ppo.errors import UserError

# name -> one-line description (kept here so `robot-ppo --help` imports nothing heavy)
COMMANDS: dict[str, str] = {
    "demo": "Train cartpole briefly, export it, and run it through the runtime on a virtual robot.",
    "train": "Train a PPO policy on a robot spec or any gymnasium environment.",
    "plot": "Render the learning curves of a training run to a PNG.",
    "eval": "Evaluate a checkpoint in simulation on a dynamics set.",
    "export": "Export a checkpoint's actor to ONNX (normalizer and action mapping in the graph).",
    "serve": "Run the virtual motor controller: a simulated robot behind a serial port.",
    "run": "Run an ONNX policy on a robot over serial (the on-robot runtime).",
    "finetune": "Fine-tune a checkpoint on rollouts recorded on the robot.",
    "tune": "Search training hyperparameters with Optuna, on one machine or many.",
}


ROBOT_EXTRA_MODULES = ("onnxruntime", "serial")
"""Modules the robot-only install (`robot_ppo[robot]`) provides; anything else is `[train]`."""


def _usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = [
        f"robot-ppo {__version__}: PPO from PyBullet simulation to a real robot.",
        "",
        "usage: robot-ppo COMMAND [options]    (robot-ppo COMMAND --help for its options)",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {desc}" for name, desc in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    if args[0] == "--version":
        print(__version__)
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"robot-ppo: unknown command {name!r}. Commands: {', '.join(COMMANDS)}.",
              file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(f"robot_ppo.commands.{name}")
        return int(module.main(rest) or 0)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in ("robot_ppo", "sim", "deploy", "firmware_bridge", ""):
            raise
        extra = "robot" if missing in ROBOT_EXTRA_MODULES else "train"
        print(f"robot-ppo {name}: this command needs the Python package {missing!r}, which is "
              f"not installed. Install it with: pip install 'robot_ppo[{extra}]'", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"robot-ppo {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"robot-ppo {name}: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
