"""Boolean options parse one way in every command: `--flag`, `--no-flag`, `--flag true|false`,
`--flag=VALUE` and `--set flag=VALUE` (robot_ppo/cli_config.py builds them all)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from robot_ppo.cli_config import build_parser, parse_config
from robot_ppo.cli_values import get_value, leaf_types, strip_annotated
from robot_ppo.errors import UserError

# command -> its config dataclass ("module:Class")
CONFIGS = {
    "demo": "robot_ppo.commands.demo:DemoConfig",
    "train": "robot_ppo.train.config:TrainConfig",
    "eval": "robot_ppo.commands.eval:EvalConfig",
    "export": "robot_ppo.commands.export:ExportConfig",
    "serve": "robot_ppo.commands.serve:ServeConfig",
    "run": "deploy.runtime_config:RunConfig",
    "finetune": "robot_ppo.finetune.config:FinetuneConfig",
}


def _config(command: str) -> type:
    module, name = CONFIGS[command].split(":")
    return getattr(importlib.import_module(module), name)


def _bool_fields(cls: type) -> list[str]:
    """Every bool option, a section's (TrainConfig's) included."""
    return [name for name, tp in leaf_types(cls).items() if tp is bool]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _negative(name: str) -> str | None:
    """`--no-NAME`; a field already named no_X (export's no_sim) has no `--no-no-X`."""
    return None if name.startswith("no_") else "--no-" + name.replace("_", "-")


BOOLS = [(cmd, name) for cmd in CONFIGS for name in _bool_fields(_config(cmd))]


def test_every_command_with_bools_is_covered() -> None:
    # the commands the issue names: eval --json, run --quiet/--fall-guard, train --tensorboard
    assert {("eval", "json"), ("run", "quiet"), ("run", "fall_guard"),
            ("train", "tensorboard"), ("serve", "lockstep")} <= set(BOOLS)


@pytest.mark.parametrize("command, name", BOOLS)
def test_bool_forms(command: str, name: str) -> None:
    cls = _config(command)
    prog = f"robot-ppo {command}"

    def value(*argv: str) -> Any:
        return get_value(parse_config(cls, list(argv), prog, ""), name)

    default = get_value(cls(), name)
    assert value() is default
    assert value(_flag(name)) is True
    assert value(_flag(name), "true") is True
    assert value(_flag(name), "false") is False
    assert value(f"{_flag(name)}=false") is False
    assert value("--set", f"{name}=true") is True
    assert value("--set", f"{name}=false") is False
    negative = _negative(name)
    if negative is not None:
        assert value(negative) is False
        # the last one given wins, in either form
        assert value(negative, _flag(name)) is True
        assert value(_flag(name), negative) is False
    # a flag without its value leaves the next option alone
    other = next(n for n, tp in leaf_types(cls).items() if strip_annotated(tp) is int)
    cfg: Any = parse_config(cls, [_flag(name), _flag(other), "7"], prog, "")
    assert get_value(cfg, name) is True and get_value(cfg, other) == 7


@pytest.mark.parametrize("command, name", BOOLS)
def test_bad_bool_value_is_a_user_error(command: str, name: str) -> None:
    with pytest.raises(UserError, match="expected true or false"):
        parse_config(_config(command), [_flag(name), "maybe"], f"robot-ppo {command}", "")


def test_no_double_negative() -> None:
    cls = _config("export")
    assert "--no-no-sim" not in build_parser(cls, "robot-ppo export", "").format_help()


def test_negative_form_takes_no_value() -> None:
    cls = _config("eval")
    with pytest.raises(SystemExit) as exc:
        parse_config(cls, ["--no-json", "true"], "robot-ppo eval", "")
    assert exc.value.code == 2


@pytest.mark.parametrize("command", sorted({cmd for cmd, _ in BOOLS}))
def test_help_shows_both_forms(command: str) -> None:
    cls = _config(command)
    text = build_parser(cls, f"robot-ppo {command}", "").format_help()
    flat = " ".join(text.split())
    for name in _bool_fields(cls):
        negative = _negative(name)
        both = f"{_flag(name)} [true|false]" + (f", {negative}" if negative else "")
        assert both in flat, name


@pytest.mark.parametrize("command", sorted({cmd for cmd, _ in BOOLS}))
def test_each_command_accepts_bare_flags(command: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Through the command's own main (its argv handling included): every bool given bare,
    then --help, parses (argparse stops at --help with exit 0 and the help text)."""
    from robot_ppo.cli import main

    bare = [_flag(name) for name in _bool_fields(_config(command))]
    with pytest.raises(SystemExit) as exc:
        main([command, *bare, "--help"])
    out = capsys.readouterr()
    assert exc.value.code == 0, out.err
    assert "expected one argument" not in out.err
    assert "usage: robot-ppo " + command in out.out
