"""Typed, validated specs for blueprint values, and their JSON Schema.

A kind's spec is a frozen dataclass whose fields are declared with `field(type, doc)`.
`Struct.check` turns a parsed YAML mapping into that dataclass, recording every problem
(wrong type, unknown key with "did you mean", missing key) with its position. The same
declarations produce the JSON Schema editors use, so the two never disagree.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from .errors import Mark, Problems, did_you_mean
from .source import Map, Seq, Tag

MISSING = dataclasses.MISSING


@dataclass(frozen=True)
class At:
    """Where a value sits: its position and key path, and where problems go."""

    problems: Problems
    mark: Mark | None
    path: str

    def key(self, name: str, mark: Mark | None) -> At:
        path = f"{self.path}.{name}" if self.path else name
        return At(self.problems, mark or self.mark, path)

    def item(self, index: int, mark: Mark | None) -> At:
        return At(self.problems, mark or self.mark, f"{self.path}[{index}]")

    def error(self, message: str) -> None:
        self.problems.add(self.mark, self.path, message)


def shown(value: Any) -> str:
    """How a wrong value is quoted back to the user."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (Seq, list)):
        return "a list"
    if isinstance(value, Tag):
        return f"!{value.name} {value.value!r}" if not isinstance(value.value, list) \
            else f"!{value.name} [...]"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean; quote it if you meant text)"
    text = repr(value)
    # a long value is cut short: a file linked in by mistake must not land in a CI log
    return text if len(text) <= 80 else f"{text[:60]}… ({len(text)} characters)"


class Type:
    """A value type: checks and converts a parsed value, describes itself."""

    expected = "a value"

    def check(self, value: Any, at: At) -> Any:
        raise NotImplementedError

    def schema(self) -> dict:
        return {}

    def fail(self, value: Any, at: At) -> None:
        at.error(f"expected {self.expected}, got {shown(value)}")


class Str(Type):
    """Text, optionally matching a pattern or one of a few choices."""

    def __init__(self, pattern: str | None = None, what: str | None = None,
                 max_len: int | None = None, choices: tuple[str, ...] = ()) -> None:
        self.pattern = re.compile(pattern) if pattern else None
        self.max_len = max_len
        self.choices = choices
        if choices:
            self.expected = "one of " + ", ".join(repr(c) for c in choices)
        else:
            self.expected = what or "a string"

    def check(self, value: Any, at: At) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and not self.choices and not self.pattern:
            return str(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                self.pattern and self.pattern.fullmatch(str(value)):
            at.error(f"expected {self.expected}, got the number {value}; YAML reads "
                     f"unquoted digits as a number: quote it, '{value}'")
            return None
        if not isinstance(value, str):
            return self.fail(value, at)
        if self.choices and value not in self.choices:
            at.error(f"expected {self.expected}, got {shown(value)}"
                     + did_you_mean(value, self.choices))
            return None
        if self.pattern and not self.pattern.fullmatch(value) or \
                self.max_len and len(value) > self.max_len:
            return self.fail(value, at)
        return value

    def schema(self) -> dict:
        out: dict = {"type": "string"}
        if self.choices:
            out["enum"] = list(self.choices)
        if self.pattern:
            # Blueprints are Jinja2 templates: an editor sees `api.{{ domain }}` before it
            # is rendered, so a value with `{{` passes (the loader checks it rendered).
            out["pattern"] = "^(?:" + self.pattern.pattern + r")$|\{\{"
        if self.max_len:
            out["maxLength"] = self.max_len
        return out


def _or_template(schema: dict) -> dict:
    """A typed field also accepts one `{{ … }}` string: the editor sees blueprints before
    they are rendered, and a single expression renders to its own type."""
    return {"anyOf": [schema, {"type": "string", "pattern": r"^\s*\{\{[^{}]*\}\}\s*$"}]}


class Value(Type):
    """A string, number or CloudFormation intrinsic (`!Ref`, `!Output`, …)."""

    expected = "a string or an intrinsic such as !Ref, !GetAtt, !Sub or !Output"

    def check(self, value: Any, at: At) -> Any:
        if isinstance(value, Tag) or isinstance(value, (str, int, float)) \
                and not isinstance(value, bool):
            return value
        return self.fail(value, at)

    def schema(self) -> dict:
        return {"type": ["string", "number"]}


class Int(Type):
    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self.expected = f"the integer {low}" if low == high else \
            f"an integer between {low} and {high}"

    def check(self, value: Any, at: At) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) \
                or not self.low <= value <= self.high:
            return self.fail(value, at)
        return value

    def fail(self, value: Any, at: At) -> None:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            at.error(f"expected {self.expected}, got the text {value!r}; write the number "
                     "without quotes (in app.yaml values too)")
            return
        super().fail(value, at)

    def schema(self) -> dict:
        return _or_template({"type": "integer", "minimum": self.low, "maximum": self.high})


class Bool(Type):
    expected = "true or false"

    def check(self, value: Any, at: At) -> Any:
        return value if isinstance(value, bool) else self.fail(value, at)

    def schema(self) -> dict:
        return _or_template({"type": "boolean"})


class Anything(Type):
    """Any YAML value, intrinsics included (passed through as written)."""

    def check(self, value: Any, at: At) -> Any:
        return value


class ListOf(Type):
    def __init__(self, item: Type, min_items: int = 0) -> None:
        self.item, self.min_items = item, min_items
        self.expected = f"a list of {item.expected}"

    def check(self, value: Any, at: At) -> Any:
        if not isinstance(value, Seq):
            return self.fail(value, at)
        if len(value) < self.min_items:
            at.error(f"expected at least {self.min_items} item(s), got {len(value)}")
        marks = value.item_marks
        return tuple(self.item.check(v, at.item(i, marks[i])) for i, v in enumerate(value))

    def schema(self) -> dict:
        return {"type": "array", "items": self.item.schema(), "minItems": self.min_items}


class MapOf(Type):
    def __init__(self, value: Type, key: Str | None = None, min_items: int = 0,
                 max_items: int | None = None) -> None:
        self.value, self.key_type = value, key or Str()
        self.min_items, self.max_items = min_items, max_items
        self.expected = f"a mapping of names to {value.expected}"

    def check(self, value: Any, at: At) -> Any:
        if not isinstance(value, Map):
            return self.fail(value, at)
        count = len(value)
        if count < self.min_items or self.max_items is not None and count > self.max_items:
            upper = f" and at most {self.max_items}" if self.max_items else ""
            at.error(f"expected at least {self.min_items}{upper} entries, got {count}")
        out = {}
        for key, item in value.items():
            self.key_type.check(key, at.key(key, value.key_marks[key]))
            out[key] = self.value.check(item, at.key(key, value.value_marks[key]))
        return out

    def schema(self) -> dict:
        out = {"type": "object", "additionalProperties": self.value.schema()}
        if self.key_type.pattern:
            out["propertyNames"] = {"pattern": "^(?:" + self.key_type.pattern.pattern + ")$"}
        return out


def field(type_: Type, doc: str, default: Any = MISSING) -> Any:
    """Declare a spec field: its type, a one-line description, and its default."""
    meta = {"type": type_, "doc": doc}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple or MappingProxy for defaults")
    return dataclasses.field(default=default, metadata=meta)


class Struct(Type):
    """A mapping with known keys, checked into a frozen dataclass."""

    def __init__(self, cls: type, name: str = "") -> None:
        self.cls, self.name = cls, name
        self.fields = {f.name: f for f in dataclasses.fields(cls)}
        self.expected = f"a mapping with keys {', '.join(self.fields)}"

    def check(self, value: Any, at: At) -> Any:
        if not isinstance(value, Map):
            return self.fail(value, at)
        values: dict = {}
        before = len(at.problems.items)
        for key in value:
            if key not in self.fields:
                at.key(key, value.key_marks[key]).error(
                    f"unknown key{self._context()}; expected one of "
                    f"{', '.join(self.fields)}{did_you_mean(key, self.fields)}")
        for name, spec in self.fields.items():
            if name in value:
                values[name] = spec.metadata["type"].check(
                    value[name], at.key(name, value.value_marks[name]))
            elif spec.default is MISSING:
                at.key(name, value.mark).error(
                    f"missing required key{self._context()}: {spec.metadata['doc']}")
            else:
                values[name] = spec.default
        if len(at.problems.items) > before:
            return None
        result = self.cls(**values)
        validate = getattr(result, "validate", None)
        if validate:
            validate(At(at.problems, value.mark, at.path), value)
        return result

    def _context(self) -> str:
        return f" for {self.name}" if self.name else ""

    def schema(self) -> dict:
        props = {}
        for name, spec in self.fields.items():
            props[name] = {**spec.metadata["type"].schema(),
                           "description": spec.metadata["doc"]}
            if spec.default is not MISSING and spec.default is not None:
                props[name]["default"] = _jsonable(spec.default)
        required = [n for n, f in self.fields.items() if f.default is MISSING]
        out = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        return out


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
