"""Typed config dataclasses -> argparse, with `--config FILE` and `--set key=value`.

Every field of a config dataclass carries a docstring (a string literal right
under it); that docstring becomes the field's `--help` text, followed by its
default. Precedence, lowest to highest: dataclass defaults, `--config FILE`
(YAML mapping of field names), `--set key=value`, explicit flags.

Supported field types: int, float, str, bool, Path, Literal[...], tuple[int, ...]
(written on the command line as `64,64`), and `X | None` of those.

A bool field `x` is one option in every command: `--x` (true), `--no-x` (false), or
`--x true|false` / `--x=VALUE` / `--set x=VALUE` (the value form is what scripts and config
files written before the bare form existed use). A field already named `no_x` gets no
`--no-no-x`.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import textwrap
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml

from robot_ppo.errors import UserError

T = TypeVar("T")


def field_docs(cls: type) -> dict[str, str]:
    """Return {field name: docstring} read from the class source (attribute docstrings)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, nxt in itertools.pairwise(body):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)):
                docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def strip_optional(tp: Any) -> tuple[Any, bool]:
    args = get_args(tp)
    if get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)) \
            and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0], True
    return tp, False


def convert(name: str, tp: Any, raw: Any) -> Any:
    """Convert `raw` (a string from the command line, or a YAML value) to field type `tp`."""
    tp, optional = strip_optional(tp)
    if optional and (raw is None or (isinstance(raw, str) and raw.lower() in ("none", "null"))):
        return None
    try:
        if get_origin(tp) is Literal:
            choices = get_args(tp)
            if raw not in choices:
                raise ValueError(f"choose one of {', '.join(map(str, choices))}")
            return raw
        if get_origin(tp) is tuple:
            (item_tp, *_) = get_args(tp)
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(item_tp(str(x).strip()) for x in items if str(x).strip())
        if tp is bool:
            if isinstance(raw, bool):
                return raw
            low = str(raw).lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if tp is Path:
            return Path(raw)
        if tp is float:
            return float(raw)
        if tp is int:
            if isinstance(raw, float) and raw.is_integer():
                return int(raw)
            return int(str(raw).replace("_", ""))
        return tp(raw)
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad value {raw!r} for {name!r}: {exc}") from None


def format_value(value: Any) -> str:
    """An option value as the command line writes it (a tuple as `a,b`, empty as `none`)."""
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


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


def _add_bool(parser: argparse.ArgumentParser, name: str, help_text: str) -> None:
    flag = "--" + name.replace("_", "-")
    strings = [flag] if name.startswith("no_") else [flag, "--no-" + flag[2:]]
    parser.add_argument(*strings, dest=name, action=_BoolFlag, default=argparse.SUPPRESS,
                        help=help_text)


def build_parser(cls: type, prog: str, description: str) -> argparse.ArgumentParser:
    """An argparse parser with one `--flag` per field (all defaults SUPPRESSed)."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=_HelpFormatter)
    parser.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="YAML file of option values (keys as in --set). (default: none)")
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=argparse.SUPPRESS,
                        dest="set_", help="Override one option by its key; repeatable. "
                        "(default: none)")
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp = hints[f.name]
        default = (f.default if f.default is not dataclasses.MISSING
                   else f.default_factory())  # type: ignore[operator]
        help_text = docs.get(f.name, "")
        if not help_text:
            raise TypeError(f"{cls.__name__}.{f.name} has no docstring")
        help_text = f"{help_text} (default: {format_value(default)})"
        if strip_optional(tp)[0] is bool:
            _add_bool(parser, f.name, help_text)
            continue
        flag = "--" + f.name.replace("_", "-")
        parser.add_argument(flag, dest=f.name, metavar=_metavar(tp), default=argparse.SUPPRESS,
                            help=help_text)
    return parser


def apply_overrides(config: T, values: dict[str, Any], source: str) -> T:
    """Return a copy of `config` with `values` (raw strings or YAML values) applied."""
    hints = typing.get_type_hints(type(config))
    valid = [f.name for f in dataclasses.fields(config) if f.init]  # type: ignore[arg-type]
    changes = {}
    for key, raw in values.items():
        name = key.replace("-", "_")
        if name not in valid:
            raise UserError(f"unknown option {key!r} in {source}. Valid keys: {', '.join(valid)}")
        changes[name] = convert(name, hints[name], raw)
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


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
        layers.append((load_yaml_mapping(Path(path), "config file"), f"config file {path}"))
    parsed: dict[str, str] = {}
    for item in ns.pop("set_", []):
        if "=" not in item:
            raise UserError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        parsed[key.strip()] = value.strip()
    layers.append((parsed, "--set"))
    layers.append((ns, "the command line"))
    return layers


def given_names(layers: list[tuple[dict[str, Any], str]]) -> set[str]:
    """Field names that `user_options` layers set (keys as in `--set`, dashes or not)."""
    return {key.replace("-", "_") for values, _ in layers for key in values}


def parse_config(cls: type[T], argv: list[str], prog: str, description: str,
                 base: T | None = None) -> T:
    """Parse `argv` into an instance of the config dataclass `cls` (see module doc)."""
    config = base if base is not None else cls()
    for values, source in user_options(cls, argv, prog, description):
        config = apply_overrides(config, values, source)
    return config


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain, YAML-safe dict of a config dataclass (tuples become lists, paths strings)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if isinstance(v, tuple):
            v = list(v)
        elif isinstance(v, Path):
            v = str(v)
        out[f.name] = v
    return out


def join_multi(argv: list[str], flag: str) -> list[str]:
    """`--rollouts A B C` -> `--rollouts A,B,C`: a flag that takes several values, for the
    typed parser, which takes one value per flag (`finetune`, `identify`)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == flag:
            vals = []
            i += 1
            while i < len(argv) and not argv[i].startswith("--"):
                vals.append(argv[i])
                i += 1
            out += [flag, ",".join(vals)]
        else:
            out.append(argv[i])
            i += 1
    return out
