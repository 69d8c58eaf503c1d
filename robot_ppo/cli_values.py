"""Config values: pydantic config dataclasses, their options (leaves) and sections, and
how a value given as text or YAML becomes a typed, validated one.

A config class may hold sections: fields whose type is itself a config class (TrainConfig's
`ppo: PPOParams`). Its options are its leaves: every non-section field, its own and its
sections', by name; leaf names are unique across sections, so `lr` names `ppo.lr`. A key
of `--set` or `--config` is a leaf name (`lr`), a dotted path (`ppo.lr`), or in YAML a
section holding a mapping (`ppo: {lr: 0.001}`).

The command line writes a few values its own way; `cli_form` turns them into what pydantic
reads: `64,64` for a tuple, `none`/`null` for None, `true|false|yes|no|1|0|on|off` for a bool.
A `ValidationError` becomes one `UserError` line naming the option, the value and what is
allowed (`explain`).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, get_args, get_origin, overload

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
def adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def constraints(tp: Any) -> dict[str, Any]:
    """{ge|gt|le|lt|min_length: value} declared on an `Annotated` field type."""
    if get_origin(tp) is not typing.Annotated:
        args = [a for a in get_args(tp) if a is not type(None)]  # `Annotated[...] | None`
        return constraints(args[0]) if len(args) == 1 else {}
    found: dict[str, Any] = {}
    for extra in tp.__metadata__:
        for item in getattr(extra, "metadata", [extra]):  # a FieldInfo, or annotated_types
            for key in ("ge", "gt", "le", "lt", "min_length"):
                if getattr(item, key, None) is not None:
                    found[key] = getattr(item, key)
    return found


def allowed(bounds: dict[str, Any]) -> str:
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
        return each + (allowed(constraints(tp)) if tp is not None and not each
                       else allowed(ctx))
    message = _KINDS.get(kind, str(first["msg"]))
    return each + message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def convert(name: str, tp: Any, raw: Any) -> Any:
    """Convert `raw` (a string from the command line, or a YAML value) to field type `tp`
    (bounds of an `Annotated` type included); UserError naming the option otherwise."""
    try:
        return adapter(tp).validate_python(cli_form(tp, raw))
    except ValueError as exc:  # ValidationError is a ValueError, so is cli_form's
        what = explain(exc, tp) if isinstance(exc, ValidationError) else str(exc)
        if what.startswith("must be"):  # a bound reads as a sentence: --envs must be >= 1
            raise UserError(f"{flag(name)} {what} (got {raw!r})") from None
        raise UserError(f"bad value {raw!r} for {flag(name)}: {what}") from None


def format_value(value: Any) -> str:
    """An option value as the command line writes it (a tuple as `a,b`, empty as `none`)."""
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def section_class(tp: Any) -> type | None:
    """The config class of a section field's type (None for an option's)."""
    bare = strip_annotated(tp)
    return bare if isinstance(bare, type) and dataclasses.is_dataclass(bare) else None


def leaves(cls: Any) -> dict[str, tuple[str, ...]]:
    """{option name: its path of field names} over `cls` and its sections, in field order."""
    return _leaves(cls)


@functools.lru_cache(maxsize=64)
def _leaves(cls: Any) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    hints = field_types(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        sub = section_class(hints[f.name])
        found = {f.name: (f.name,)} if sub is None else {
            leaf: (f.name, *path) for leaf, path in leaves(sub).items()}
        twice = set(found) & set(out)
        if twice:
            raise TypeError(f"{cls.__name__}: option name(s) {sorted(twice)} in two sections")
        out.update(found)
    return out


def leaf_field(cls: type, name: str) -> tuple[type, dataclasses.Field[Any], Any]:
    """(the class that declares option `name`, its dataclass field, its annotated type)."""
    owner = cls
    *sections, last = leaves(cls)[name]
    for section in sections:
        owner = typing.cast(type, section_class(field_types(owner)[section]))
    field = next(f for f in dataclasses.fields(owner) if f.name == last)
    return owner, field, field_types(owner)[last]


def leaf_types(cls: type) -> dict[str, Any]:
    """{option name: annotated type} of every leaf."""
    return {name: leaf_field(cls, name)[2] for name in leaves(cls)}


def get_value(config: Any, name: str) -> Any:
    """The value of option `name` (a leaf name) in `config`."""
    value = config
    for part in leaves(type(config))[name]:
        value = getattr(value, part)
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain, YAML- and JSON-safe dict of a config (sections nested, tuples as lists, paths
    as strings): what config.yaml and a checkpoint hold, read back by `--config`."""
    cls: Any = type(config)
    return adapter(cls).dump_python(config, mode="json")


def flat_dict(config: Any) -> dict[str, Any]:
    """`config_to_dict` with the sections flattened: {option name: plain value}."""
    plain = config_to_dict(config)
    out = {}
    for name, path in leaves(type(config)).items():
        value: Any = plain
        for part in path:
            value = value[part]
        out[name] = value
    return out


def _sections(cls: type) -> dict[str, type]:
    hints = field_types(cls)
    return {f.name: sub for f in dataclasses.fields(cls)
            if f.init and (sub := section_class(hints[f.name])) is not None}


def flatten_keys(cls: type, values: dict[str, Any], source: str,
                 top: type | None = None) -> dict[str, Any]:
    """{option name: raw value} of `values`, whose keys are option names (dashes or
    underscores), dotted paths (`ppo.lr`) or sections holding a mapping; UserError for a
    key that names no option."""
    top = top or cls
    out: dict[str, Any] = {}
    for key, raw in values.items():
        *path, last = str(key).replace("-", "_").split(".")
        owner: type | None = cls
        for part in path:
            owner = _sections(owner).get(part) if owner is not None else None
        section = _sections(owner).get(last) if owner is not None else None
        if section is not None and isinstance(raw, dict):
            out.update(flatten_keys(section, raw, source, top))
        elif owner is not None and last in leaves(owner) and last in leaves(top):
            out[last] = raw
        else:
            raise UserError(f"unknown option {key!r} in {source}. Valid keys: "
                            f"{', '.join(leaves(top))}")
    return out


def convert_values(cls: type, values: dict[str, Any], source: str) -> dict[str, Any]:
    """{option name: typed value} of `values` (raw strings or YAML values, keys as
    `flatten_keys` reads them); UserError for an unknown key or a bad value."""
    changes = {}
    for name, raw in flatten_keys(cls, values, source).items():
        try:
            changes[name] = convert(name, leaf_field(cls, name)[2], raw)
        except UserError as exc:
            where = "" if source == "the command line" else f" (in {source})"
            raise UserError(f"{exc}{where}") from None
    return changes


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


def _fields_dict(config: Any) -> dict[str, Any]:
    """{field: value} of the init fields, sections as such dicts (for revalidation)."""
    return {f.name: (_fields_dict(v) if dataclasses.is_dataclass(v := getattr(config, f.name))
                     else v) for f in dataclasses.fields(config) if f.init}


def replace_values(config: T, changes: dict[str, Any], rules: bool = True) -> T:
    """A copy of `config` with typed option values `changes` ({option name: value}),
    validated again (the classes' cross-field rules too, unless `rules` is False): a
    UserError with the message of what refuses it."""
    cls: Any = type(config)
    data = _fields_dict(config)
    for name, value in changes.items():
        *sections, last = leaves(cls)[name]
        node = data
        for part in sections:
            node = node[part]
        node[last] = value
    try:
        return adapter(cls).validate_python(
            data, context={RULES_LATER: True} if not rules else None)
    except ValidationError as exc:
        loc = [str(x) for x in exc.errors()[0]["loc"]]
        where = f"{flag(loc[-1])}: " if loc and loc[-1] in leaves(cls) else ""
        raise UserError(where + explain(exc)) from None


def check_rules(config: T) -> T:
    """`config` once its cross-field rules hold (UserError with the first that does not)."""
    return replace_values(config, {})


def apply_flat(config: T, values: dict[str, Any], source: str, rules: bool = False) -> T:
    """`config` with `values` ({option name or path: raw value}) applied; the cross-field
    rules only with `rules` (a saved config, read back, was checked when it was made)."""
    return replace_values(config, convert_values(type(config), values, source), rules)


def with_values(config: T, **values: Any) -> T:
    """A copy of `config` with options set by name (`with_values(cfg, lr=1e-3, seed=2)`),
    for code that builds configs: the names are the command line's, sections left implicit."""
    return replace_values(config, convert_values(type(config), values, "the caller's values"))
