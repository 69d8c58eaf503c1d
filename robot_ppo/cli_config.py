"""Typed config dataclasses -> argparse, with `--config FILE` and `--set key=value`.

Config classes are pydantic dataclasses (`config_dataclass`, robot_ppo/cli_values.py):
every field carries a docstring (a string literal right under it), which pydantic keeps as
the field's description and which becomes its `--help` text, followed by its default and
declared bounds. A class with sections (TrainConfig) gets one argument group per section;
its flags are the flat option names (`--lr`, not `--ppo.lr`). Values are converted and
validated by pydantic (bounds declared on the fields, cross-field rules on the classes).
Precedence, lowest to highest: dataclass defaults, `--config FILE` (YAML mapping of option
names, flat or nested by section), `--set key=value` (`lr=...` or `ppo.lr=...`), explicit
flags.

A bool field `x` is one option in every command: `--x` (true), `--no-x` (false), or
`--x true|false` / `--x=VALUE` / `--set x=VALUE` (the value form is what scripts and config
files written before the bare form existed use). A field already named `no_x` gets no
`--no-no-x`. A field's `Cli` marker adds a short alias (`-o`), a positional form, or
several values after one flag (`--rollouts A B C`).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml

from robot_ppo.cli_values import (
    Cli,
    allowed,
    check_rules,
    cli_marker,
    config_dataclass,
    config_to_dict,
    constraints,
    convert,
    convert_values,
    field_docs,
    field_types,
    flag,
    flatten_keys,
    format_value,
    replace_values,
    section_class,
    strip_optional,
)
from robot_ppo.errors import UserError

__all__ = ["Cli", "apply_layers", "apply_overrides", "build_parser", "check_rules",
           "config_dataclass", "config_to_dict", "convert", "format_value", "given_names",
           "load_yaml_mapping", "parse_config", "strip_optional", "user_options"]

T = TypeVar("T")

RECORDED = "recorded"
"""A `--config` file's key that holds facts, not options (a run's config.yaml records
there what its options resolved to): ignored when read, so that file loads back."""


def _metavar(tp: Any) -> str:
    tp, _ = strip_optional(tp)
    if get_origin(tp) is Literal:
        return "|".join(map(str, get_args(tp)))
    if get_origin(tp) is tuple:
        return "N,N,..." if get_args(tp)[0] in (int, float) else "A,B,..."
    return getattr(tp, "__name__", "VALUE").upper()


BOOL_METAVAR = "true|false"


class _BoolFlag(argparse.Action):
    """`--x [VALUE]` and `--x`'s negative `--no-x` in one action: the raw value it stores
    ("true", "false" or what was typed) is converted with every other option's by `convert`,
    so `--set` and config files share its error messages."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs="?", metavar=BOOL_METAVAR, **kwargs)
        self.negative = option_strings[1] if len(option_strings) > 1 else None

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        if option_string is not None and option_string == self.negative:
            if values is not None:
                parser.error(f"{option_string} takes no value (write "
                             f"{self.option_strings[0]} {values} instead)")
            values = "false"
        setattr(namespace, self.dest, "true" if values is None else values)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows a bool as `--x [true|false], --no-x` (argparse would repeat the value on both)."""

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if isinstance(action, _BoolFlag):
            first, *rest = action.option_strings
            return ", ".join([f"{first} [{BOOL_METAVAR}]", *rest])
        return super()._format_action_invocation(action)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[operator]


def _add_field(group: Any, name: str, tp: Any, help_text: str) -> None:
    """The field's `--flag` (and the forms its Cli marker declares) on a parser or group."""
    cli = cli_marker(tp)
    if strip_optional(tp)[0] is bool:
        strings = [flag(name)] if name.startswith("no_") else [flag(name),
                                                               "--no-" + flag(name)[2:]]
        group.add_argument(*strings, dest=name, action=_BoolFlag, default=argparse.SUPPRESS,
                           help=help_text)
        return
    strings = ([cli.short] if cli.short else []) + [flag(name)]
    # several values after one flag arrive as a list, which cli_form joins
    multi: dict[str, Any] = {"nargs": "+"} if cli.multi else {}
    group.add_argument(*strings, dest=name, metavar=_metavar(tp), default=argparse.SUPPRESS,
                       help=help_text, **multi)
    if cli.positional:
        group.add_argument(name, nargs="?", metavar=name.upper(), default=argparse.SUPPRESS,
                           help=f"same as {flag(name)}")


def add_fields(parser: argparse.ArgumentParser, cls: type, group: Any = None) -> None:
    """One option per init field of `cls`; a section's options in an argument group named
    for it, described by the section field's docstring."""
    hints, docs = field_types(cls), field_docs(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        help_text = docs.get(f.name, "")
        if not help_text:
            raise TypeError(f"{cls.__name__}.{f.name} has no docstring")
        sub = section_class(hints[f.name])
        if sub is not None:
            add_fields(parser, sub, group or parser.add_argument_group(
                f"{f.name} options", help_text))
            continue
        bounds = allowed(constraints(hints[f.name]))
        _add_field(group or parser, f.name, hints[f.name], f"{help_text} "
                   f"{'(' + bounds + ') ' if bounds else ''}(default: "
                   f"{format_value(_default(f))})")


def build_parser(cls: type, prog: str, description: str) -> argparse.ArgumentParser:
    """An argparse parser with one `--flag` per field (all defaults SUPPRESSed)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=_HelpFormatter)
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="YAML file of option values (keys as in --set). (default: none)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=argparse.SUPPRESS,
                        dest="set_", help="Override one option by its key; repeatable. "
                        "(default: none)")
    add_fields(parser, cls)
    return parser


def apply_overrides(config: T, values: dict[str, Any], source: str) -> T:
    """Return a copy of `config` with `values` (raw strings or YAML values) applied."""
    return replace_values(config, convert_values(type(config), values, source))


def apply_layers(config: T, layers: list[tuple[dict[str, Any], str]], rules: bool = True) -> T:
    """`config` with every layer's values applied, later layers winning. Each value is
    checked on its own with its layer's name; the cross-field rules only once, on the
    result (a rule a later layer satisfies again is no error), and not at all with
    `rules=False` (the caller runs `check_rules` on what it finally builds)."""
    changes: dict[str, Any] = {}
    for values, source in layers:
        changes.update(convert_values(type(config), values, source))
    return replace_values(config, changes, rules)


def load_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML mapping, with clear errors for a missing file or bad syntax."""
    if not path.is_file():
        raise UserError(f"{what} {str(path)!r} does not exist.")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{what} {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{what} {str(path)!r} must be a YAML mapping of option: value.")
    return data


def user_options(cls: type, argv: list[str], prog: str, description: str
                 ) -> list[tuple[dict[str, Any], str]]:
    """The option values `argv` gives, lowest precedence first, as (values, source) pairs:
    `--config FILE`, then `--set key=value`, then explicit flags (values still raw)."""
    parser = build_parser(cls, prog, description)
    ns = vars(parser.parse_args(argv))
    layers: list[tuple[dict[str, Any], str]] = []
    if "config" in ns:
        path = ns.pop("config")
        values = load_yaml_mapping(Path(path), "config file")
        values.pop(RECORDED, None)
        layers.append((values, f"config file {path}"))
    parsed: dict[str, str] = {}
    for item in ns.pop("set_", []):
        if "=" not in item:
            raise UserError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        parsed[key.strip()] = value.strip()
    layers.append((parsed, "--set"))
    layers.append((ns, "the command line"))
    return layers


def given_names(cls: type, layers: list[tuple[dict[str, Any], str]]) -> set[str]:
    """Option names that `user_options` layers set (keys as `--set` takes them)."""
    return {name for values, source in layers for name in flatten_keys(cls, values, source)}


def parse_config(cls: type[T], argv: list[str], prog: str, description: str,
                 base: T | None = None) -> T:
    """Parse `argv` into an instance of the config dataclass `cls` (see module doc)."""
    config = base if base is not None else cls()
    return apply_layers(config, user_options(cls, argv, prog, description))
