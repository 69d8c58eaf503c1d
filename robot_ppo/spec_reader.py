"""Reading a robot spec's mapping field by field, with errors that name the field.

`FieldReader` wraps one mapping of the YAML (the spec or a section of it) and its dotted
path; each typed getter checks the value and raises `SpecError` naming the full path
(`spec.yaml: field 'joints[0].kp' must be > 0, got -1`); `done()` refuses keys nobody read.
Light core: stdlib only.
"""

from __future__ import annotations

from typing import Any

from robot_ppo.errors import UserError


class SpecError(UserError):
    """The robot spec is invalid; the message names the field and the problem."""


class FieldReader:
    """Reads typed fields from a mapping and raises SpecError naming the full field path."""

    def __init__(self, data: Any, path: str, origin: str):
        if not isinstance(data, dict):
            raise SpecError(f"{origin}: '{path or 'spec'}' must be a mapping, got "
                            f"{type(data).__name__}")
        self.data, self.path, self.origin = data, path, origin
        self.used: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, problem: str) -> SpecError:
        return SpecError(f"{self.origin}: field '{self._name(key)}' {problem}")

    def get(self, key: str, default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.fail(key, "is missing")
            return default
        return self.data[key]

    def num(self, key: str, default: Any = ..., positive: bool = False,
            nonneg: bool = False) -> float:
        v = self.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.fail(key, f"must be a number, got {v!r}")
        if positive and not v > 0:
            raise self.fail(key, f"must be > 0, got {v!r}")
        if nonneg and v < 0:
            raise self.fail(key, f"must be >= 0, got {v!r}")
        return float(v)

    def integer(self, key: str, default: Any = ..., minimum: int = 0) -> int:
        v = self.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.fail(key, f"must be an integer >= {minimum}, got {v!r}")
        return v

    def text(self, key: str, default: Any = ..., choices: tuple[str, ...] = ()) -> str:
        v = self.get(key, default)
        if not isinstance(v, str) or not v:
            raise self.fail(key, f"must be a non-empty string, got {v!r}")
        if choices and v not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {v!r}")
        return v

    def flag(self, key: str, default: Any = ...) -> bool:
        v = self.get(key, default)
        if not isinstance(v, bool):
            raise self.fail(key, f"must be true or false, got {v!r}")
        return v

    def seq(self, key: str, default: Any = ...) -> list[Any]:
        v = self.get(key, default)
        if not isinstance(v, list):
            raise self.fail(key, f"must be a list, got {v!r}")
        return v

    def child(self, key: str, default: Any = ...) -> FieldReader:
        return FieldReader(self.get(key, default), self._name(key), self.origin)

    def done(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            where = f"'{self.path}'" if self.path else "the spec"
            raise SpecError(f"{self.origin}: unknown field(s) {', '.join(extra)} in {where}. "
                            f"Known: {', '.join(sorted(self.used))}")
