"""Typed config dataclasses -> argparse, with `--config FILE` and `--set key=value`.

Config classes are pydantic dataclasses (`config_dataclass`): every field carries a
docstring (a string literal right under it), which pydantic keeps as the field's
description and which becomes its `--help` text, followed by its default. Values are
converted and validated by pydantic (bounds declared on the fields with `Field(ge=...)`,
cross-field rules in the class's `__post_init__`); a `ValidationError` becomes one
`UserError` line naming the option, the value and what is allowed. Precedence, lowest to
highest: dataclass defaults, `--config FILE` (YAML mapping of field names), `--set
key=value`, explicit flags.

The command line writes a few values its own way; `cli_form` turns them into what pydantic
reads: `64,64` for a tuple, `none`/`null` for None, `true|false|yes|no|1|0|on|off` for a bool.

A bool field `x` is one option in every command: `--x` (true), `--no-x` (false), or
`--x true|false` / `--x=VALUE` / `--set x=VALUE` (the value form is what scripts and config
files written before the bare form existed use). A field already named `no_x` gets no
`--no-no-x`.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin, overload

import yaml
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo
from pydantic.dataclasses import dataclass as pydantic_dataclass
from typing_extensions import dataclass_transform

from robot_ppo.errors import UserError

T = TypeVar("T")

CONFIG = ConfigDict(use_attribute_docstrings=True, extra="forbid", coerce_numbers_to_str=True)
"""Every config class's pydantic settings: field docstrings become descriptions (the --help
text), unknown keys are refused, and a YAML number given to a str option is read as text."""


@overload
def config_dataclass(cls: type[T], /) -> type[T]: ...
@overload
def config_dataclass(*, frozen: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, Field))
def config_dataclass(cls: type[T] | None = None, /, *, frozen: bool = False) -> Any:
    """`@config_dataclass` or `@config_dataclass(frozen=True)`: a command's config class, a
    pydantic dataclass (`dataclasses.fields` and `dataclasses.replace` keep working)."""
    def wrap(klass: type[T]) -> type[T]:
        return pydantic_dataclass(config=CONFIG, frozen=frozen)(klass)  # type: ignore[return-value]
    return wrap if cls is None else wrap(cls)


@dataclasses.dataclass(frozen=True)
class Cli:
    """How a field is written on the command line beyond its `--flag`, declared on the field
    as `Annotated[T, Cli(...)]` (pydantic ignores the marker)."""

    short: str | None = None
    """A short alias, e.g. `-o` for `--output`."""
    positional: bool = False
    """Also accepted as the command's optional positional argument."""
    multi: bool = False
    """A tuple option that takes several values after one flag (`--rollouts A B C`), as
    well as the comma form (`--rollouts A,B`)."""


def field_docs(cls: type) -> dict[str, str]:
    """Return {field name: docstring} of a config class (pydantic's field descriptions;
    a subclass's rebuilt fields lose their base's, so the bases are read too)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        for name, info in getattr(klass, "__pydantic_fields__", {}).items():
            if info.description:
                docs[name] = " ".join(info.description.split())
    return docs


def field_types(cls: type) -> dict[str, Any]:
    """{field name: annotation}, with `Annotated` bounds and `Cli` markers kept."""
    return typing.get_type_hints(cls, include_extras=True)


def strip_annotated(tp: Any) -> Any:
    """The bare type of an `Annotated[T, ...]` (T itself otherwise)."""
    return get_args(tp)[0] if get_origin(tp) is typing.Annotated else tp


def cli_marker(tp: Any) -> Cli:
    """The field's `Cli` marker (a default one when it has none)."""
    if get_origin(tp) is typing.Annotated:
        for extra in tp.__metadata__:
            if isinstance(extra, Cli):
                return extra
    return Cli()


def strip_optional(tp: Any) -> tuple[Any, bool]:
    """(T, True) for `T | None`, else (tp, False); `Annotated` wrappers are dropped."""
    tp = strip_annotated(tp)
    args = get_args(tp)
    if get_origin(tp) in (typing.Union, getattr(__import__("types"), "UnionType", None)) \
            and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return strip_annotated(rest[0]), True
    return tp, False


TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def cli_form(tp: Any, raw: Any) -> Any:
    """The before-step: what the command line writes its own way, as pydantic reads it."""
    bare, optional = strip_optional(tp)
    if isinstance(raw, list) and get_origin(bare) is tuple and all(
            isinstance(x, str) for x in raw):  # a multi-value flag's values, each may be a,b
        return tuple(x.strip() for item in raw for x in item.split(",") if x.strip())
    if not isinstance(raw, str):
        return raw
    low = raw.strip().lower()
    if optional and low in ("none", "null"):
        return None
    if get_origin(bare) is tuple:
        if low in ("", "none"):  # how format_value writes an empty tuple
            return ()
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    if bare is bool:
        if low in TRUE + FALSE:
            return low in TRUE
        raise ValueError("expected true or false")
    return raw


@functools.lru_cache(maxsize=512)
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def _constraints(tp: Any) -> dict[str, Any]:
    """{ge|gt|le|lt|min_length: value} declared on an `Annotated` field type."""
    if get_origin(tp) is not typing.Annotated:
        args = [a for a in get_args(tp) if a is not type(None)]  # `Annotated[...] | None`
        return _constraints(args[0]) if len(args) == 1 else {}
    found: dict[str, Any] = {}
    for extra in tp.__metadata__:
        for item in getattr(extra, "metadata", [extra]):  # a FieldInfo, or annotated_types
            for key in ("ge", "gt", "le", "lt", "min_length"):
                if getattr(item, key, None) is not None:
                    found[key] = getattr(item, key)
    return found


def _allowed(bounds: dict[str, Any]) -> str:
    """`must be in (0, 1]`, `must be >= 1`, ... for a field's declared bounds."""
    low = ("[", bounds["ge"]) if "ge" in bounds else ("(", bounds["gt"]) if "gt" in bounds \
        else None
    high = ("]", bounds["le"]) if "le" in bounds else (")", bounds["lt"]) if "lt" in bounds \
        else None
    if low and high:
        return f"must be in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f"must be {'>=' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f"must be {'<=' if high[0] == ']' else '<'} {high[1]}"
    return ""


_KINDS = {"int_parsing": "expected a whole number", "int_from_float": "expected a whole number",
          "int_type": "expected a whole number", "float_parsing": "expected a number",
          "float_type": "expected a number", "string_type": "expected text"}


def explain(error: ValidationError, tp: Any = None) -> str:
    """What is allowed, in a few words, for the first error of a ValidationError (`tp`: the
    field's type, whose choices and declared bounds say it best)."""
    first = error.errors()[0]
    kind, ctx = first["type"], first.get("ctx") or {}
    bare = strip_optional(tp)[0] if tp is not None else None
    if get_origin(bare) is Literal:
        return f"choose one of {', '.join(map(str, get_args(bare)))}"
    if bare is bool:
        return "expected true or false"
    each = "each value " if any(isinstance(x, int) for x in first["loc"]) else ""
    if kind == "too_short":
        return f"needs at least {ctx['min_length']} value(s)"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return each + (_allowed(_constraints(tp)) if tp is not None and not each
                       else _allowed(ctx))
    message = _KINDS.get(kind, str(first["msg"]))
    return each + message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def convert(name: str, tp: Any, raw: Any) -> Any:
    """Convert `raw` (a string from the command line, or a YAML value) to field type `tp`
    (bounds of an `Annotated` type included); UserError naming the option otherwise."""
    try:
        return _adapter(tp).validate_python(cli_form(tp, raw))
    except ValueError as exc:  # ValidationError is a ValueError, so is cli_form's
        what = explain(exc, tp) if isinstance(exc, ValidationError) else str(exc)
        raise UserError(f"bad value {raw!r} for {_flag(name)}: {what}") from None


def format_value(value: Any) -> str:
    """An option value as the command line writes it (a tuple as `a,b`, empty as `none`)."""
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


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
        strings = [_flag(name)] if name.startswith("no_") else [_flag(name),
                                                                "--no-" + _flag(name)[2:]]
        group.add_argument(*strings, dest=name, action=_BoolFlag, default=argparse.SUPPRESS,
                           help=help_text)
        return
    strings = [_flag(name)] + ([cli.short] if cli.short else [])
    # several values after one flag arrive as a list, which cli_form leaves to pydantic
    multi: dict[str, Any] = {"nargs": "+"} if cli.multi else {}
    group.add_argument(*strings, dest=name, metavar=_metavar(tp), default=argparse.SUPPRESS,
                       help=help_text, **multi)
    if cli.positional:
        group.add_argument(name, nargs="?", metavar=name.upper(), default=argparse.SUPPRESS,
                           help=f"same as {_flag(name)}")


def add_fields(group: Any, cls: type, names: list[str] | None = None) -> None:
    """One option per init field of `cls` (or of `names` only) on a parser or group."""
    hints, docs = field_types(cls), field_docs(cls)
    for f in dataclasses.fields(cls):
        if not f.init or (names is not None and f.name not in names):
            continue
        help_text = docs.get(f.name, "")
        if not help_text:
            raise TypeError(f"{cls.__name__}.{f.name} has no docstring")
        allowed = _allowed(_constraints(hints[f.name]))
        _add_field(group, f.name, hints[f.name], f"{help_text} (default: "
                   f"{format_value(_default(f))}{'; ' + allowed if allowed else ''})")


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


RULES_LATER = "rules_later"
"""Validation-context key: while set, a config class's cross-field rules wait (`rules_apply`)."""


def rules_apply(info: ValidationInfo) -> bool:
    """For a config class's cross-field rules (a `model_validator(mode="after")`): False
    while a command builds its config in layers whose intermediate states need not hold
    them (`apply_layers(..., rules=False)`, then `check_rules` on the result)."""
    return not (info.context or {}).get(RULES_LATER)


def require_all(rules: list[tuple[bool, str]]) -> None:
    """ValueError (pydantic's way to refuse a value) with the first rule that does not hold."""
    for holds, message in rules:
        if not holds:
            raise ValueError(message)


def _replace(config: T, changes: dict[str, Any], rules: bool = True) -> T:
    """`dataclasses.replace`, whose validation (the class's cross-field rules, unless
    `rules` is False) may refuse the combination: a UserError with the rule's message."""
    try:
        if rules:
            return dataclasses.replace(config, **changes)  # type: ignore[type-var]
        values = {f.name: getattr(config, f.name)
                  for f in dataclasses.fields(config) if f.init}  # type: ignore[arg-type]
        cls: Any = type(config)
        return _adapter(cls).validate_python(
            {**values, **changes}, context={RULES_LATER: True})
    except ValidationError as exc:
        loc = exc.errors()[0]["loc"]
        name = str(loc[0]) if loc else ""
        where = f"{_flag(name)}: " if name else ""
        raise UserError(where + explain(exc)) from None


def check_rules(config: T) -> T:
    """`config` once its cross-field rules hold (UserError with the first that does not)."""
    return _replace(config, {})


def convert_values(cls: type, values: dict[str, Any], source: str) -> dict[str, Any]:
    """{field name: typed value} of `values` (raw strings or YAML values, keys with dashes or
    underscores); UserError for an unknown key or a bad value."""
    hints = field_types(cls)
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    changes = {}
    for key, raw in values.items():
        name = str(key).replace("-", "_")
        if name not in valid:
            raise UserError(f"unknown option {key!r} in {source}. Valid keys: {', '.join(valid)}")
        try:
            changes[name] = convert(name, hints[name], raw)
        except UserError as exc:
            where = "" if source == "the command line" else f" (in {source})"
            raise UserError(f"{exc}{where}") from None
    return changes


def apply_overrides(config: T, values: dict[str, Any], source: str) -> T:
    """Return a copy of `config` with `values` (raw strings or YAML values) applied."""
    return _replace(config, convert_values(type(config), values, source))


def apply_layers(config: T, layers: list[tuple[dict[str, Any], str]], rules: bool = True) -> T:
    """`config` with every layer's values applied, later layers winning. Each value is
    checked on its own with its layer's name; the cross-field rules only once, on the
    result (a rule a later layer satisfies again is no error), and not at all with
    `rules=False` (the caller runs `check_rules` on what it finally builds)."""
    changes: dict[str, Any] = {}
    for values, source in layers:
        changes.update(convert_values(type(config), values, source))
    return _replace(config, changes, rules)


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
    return {str(key).replace("-", "_") for values, _ in layers for key in values}


def parse_config(cls: type[T], argv: list[str], prog: str, description: str,
                 base: T | None = None) -> T:
    """Parse `argv` into an instance of the config dataclass `cls` (see module doc)."""
    config = base if base is not None else cls()
    return apply_layers(config, user_options(cls, argv, prog, description))


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
