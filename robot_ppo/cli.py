"""The `robot-ppo` command: the composition root.

Each subcommand lives in `robot_ppo/commands/<name>.py` with a `main(argv) -> int`.
They are imported lazily so that `robot-ppo run` on the robot never imports
torch or PyBullet.
"""

from __future__ import annotations

import importlib
import importlib.util
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
    "adapt": "Rounds on the robot: collect, fine-tune (KL leash), export, with rollback.",
    "identify": "Fit the simulator's dynamics parameters to rollouts recorded on the robot.",
    "tune": "Search training hyperparameters with Optuna, on one machine or many.",
    "firmware-config": "Write a robot's robot_config.h for the C firmware core (limits, hash).",
}


ROBOT_EXTRA_MODULES = ("onnxruntime", "serial")
"""Modules the robot-only install (`robot_ppo[robot]`) provides; anything else is `[train]`
(or `[tune]` for TUNE_EXTRA_MODULES)."""
TUNE_EXTRA_MODULES = ("optuna", "cmaes")

COMMAND_NEEDS: dict[str, tuple[str, ...]] = {
    "demo": ("torch", "pybullet", "onnx"), "train": ("torch", "gymnasium", "pybullet"),
    "plot": ("matplotlib",), "eval": ("torch", "pybullet"), "export": ("torch", "onnx"),
    "serve": ("pybullet",), "run": ("onnxruntime", "serial"), "finetune": ("torch",),
    "identify": ("cmaes", "pybullet"),
    "adapt": ("torch", "onnx", "pybullet", "onnxruntime", "serial"),
    "tune": ("torch", "optuna"), "firmware-config": ("pybullet",),
}
"""Modules each command imports beyond the light core, once past its option parsing: its
`--help` works without them (in the robot-only install too) and then names the extra."""


def _install_hint(extra: str) -> str:
    # robot_ppo is not on PyPI: install from the clone, or from a wheel built from it
    return (f"pip install '.[{extra}]' in a clone of robot_ppo (or pip install "
            f"'robot_ppo-VERSION-py3-none-any.whl[{extra}]')")


def _extra(module: str) -> str:
    if module in ROBOT_EXTRA_MODULES:
        return "robot"
    return "tune" if module in TUNE_EXTRA_MODULES else "train"


def _missing_note(name: str) -> str | None:
    """What `robot-ppo NAME --help` adds when the command cannot run in this install."""
    missing = [m for m in COMMAND_NEEDS.get(name, ()) if importlib.util.find_spec(m) is None]
    if not missing:
        return None
    extra = _extra(missing[0])
    return (f"note: robot-ppo {name} needs {', '.join(missing)}, not installed here (the "
            f"[{extra}] extra): {_install_hint(extra)}")


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
        module = importlib.import_module(f"robot_ppo.commands.{name.replace('-', '_')}")
        return int(module.main(rest) or 0)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        if exc.code in (0, None) and ("-h" in rest or "--help" in rest) \
                and (note := _missing_note(name)) is not None:
            print(f"\n{note}")
        raise
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in ("robot_ppo", "sim", "deploy", "firmware_bridge", ""):
            raise
        extra = _extra(missing)
        print(f"robot-ppo {name}: this command needs the Python package {missing!r} (the "
              f"[{extra}] extra), which is not installed. Install it with: "
              f"{_install_hint(extra)}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"robot-ppo {name}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"robot-ppo {name}: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
