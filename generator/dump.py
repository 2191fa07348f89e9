"""Dump: a template as deterministic, conventionally ordered YAML.

Same input → same bytes: sections in the order people read them, resources in blueprint
order, resource attributes in a fixed order, properties sorted by name, and YAML written
by libyaml (much faster than troposphere's JSON round trip through a pure-Python writer).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import yaml

SECTIONS = ("AWSTemplateFormatVersion", "Description", "Metadata", "Parameters",
            "Mappings", "Conditions", "Resources", "Outputs")
RESOURCE_KEYS = ("Type", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy",
                 "CreationPolicy", "UpdatePolicy", "Metadata", "Properties")

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_PLAIN = re.compile(r"[A-Za-z_/$][A-Za-z0-9_./:@${}()*+-]*")
_SPECIAL = re.compile(r"(?i)(y|n|yes|no|on|off|true|false|null|~)")


@lru_cache(maxsize=65536)
def _scalar(text: str) -> str:
    """A string as a YAML scalar: plain where that reads back as the same string."""
    if _PLAIN.fullmatch(text) and not _SPECIAL.fullmatch(text) and ": " not in text \
            and not text.endswith(":"):
        return text
    dumped = yaml.dump(text, Dumper=_Dumper, width=1_000_000, allow_unicode=True)
    dumped = dumped[:-5] if dumped.endswith("\n...\n") else dumped.rstrip("\n")
    # A scalar PyYAML spreads over lines would need this document's indentation: write it
    # on one line instead, double-quoted (a JSON string is a valid YAML one).
    return json.dumps(text, ensure_ascii=False) if "\n" in dumped else dumped


def _block(text: str, indent: str) -> str | None:
    """Multi-line text as a literal block, or None where a block cannot hold it."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines, chomp = lines[:-1], ("" if not text.endswith("\n\n") else None)
    else:
        chomp = "-"
    if chomp is None or not any(lines) or any(line[:1] in (" ", "\t") or line != line.rstrip()
                            for line in lines) or not all(c.isprintable() for c in text
                                                          if c != "\n"):
        return None
    body = "\n".join(f"{indent}{line}" if line else "" for line in lines)
    return f"|{chomp}\n{body}"


def _value(value: Any, indent: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if "\n" in value:
        block = _block(value, indent + "  ")
        if block is not None:
            return block
    return _scalar(value)


def _emit(value: Any, indent: str, out: list[str], sort: bool = False) -> None:
    """Block-style YAML in PyYAML's layout (indentless sequences), much faster; with
    `sort`, every mapping below has its keys in sorted order."""
    if isinstance(value, dict):
        for key in sorted(value) if sort else value:
            _entry(f"{indent}{_scalar(str(key))}:", value[key], indent, out, sort)
    else:
        for item in value:
            if isinstance(item, dict) and item:
                first = True
                for key in sorted(item) if sort else item:
                    lead = f"{indent}- " if first else f"{indent}  "
                    _entry(f"{lead}{_scalar(str(key))}:", item[key], indent + "  ", out, sort)
                    first = False
            else:
                _entry(f"{indent}-", item, indent, out, sort)


def _entry(head: str, item: Any, indent: str, out: list[str], sort: bool = False) -> None:
    if isinstance(item, dict) and item:
        out.append(head)
        _emit(item, indent + "  ", out, sort)
    elif isinstance(item, list) and item:
        out.append(head)
        _emit(item, indent if head.endswith(":") else indent + "  ", out, sort)
    elif isinstance(item, (dict, list)):
        out.append(f"{head} {'{}' if isinstance(item, dict) else '[]'}")
    else:
        out.append(f"{head} {_value(item, indent)}")


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _resource(body: dict) -> dict:
    ordered = {k: body[k] for k in RESOURCE_KEYS if k in body}
    if "Properties" in ordered:
        ordered["Properties"] = _sorted(ordered["Properties"])
    extra = sorted(set(body) - set(RESOURCE_KEYS))
    if extra:
        raise ValueError(f"unexpected resource attributes {extra}")
    return ordered


def ordered(template: dict) -> dict:
    """The template in conventional order, ready to dump."""
    out: dict = {}
    for section in SECTIONS:
        if section not in template:
            continue
        value = template[section]
        if section == "Resources":
            value = {k: _resource(v) for k, v in value.items()}
        elif section == "Parameters":
            value = {k: _sorted(value[k]) for k in sorted(value)}
        elif section in ("Outputs", "Conditions", "Mappings"):
            value = {k: _sorted(v) for k, v in value.items()}
        out[section] = value
    return out


def to_yaml(template: dict) -> bytes:
    """`ordered(template)` as YAML, sorting as it writes instead of copying first."""
    out: list[str] = []
    for section in SECTIONS:
        if section not in template:
            continue
        value = template[section]
        if not value or not isinstance(value, dict):
            _entry(f"{section}:", value, "", out)
        elif section == "Resources":
            out.append("Resources:")
            for logical_id, body in value.items():
                _resource_entry(f"  {_scalar(str(logical_id))}:", body, out)
        elif section == "Parameters":
            _entry("Parameters:", value, "", out, True)
        elif section in ("Outputs", "Conditions", "Mappings"):
            out.append(f"{section}:")       # entries in their order, each sorted inside
            for name, item in value.items():
                _entry(f"  {_scalar(str(name))}:", item, "  ", out, True)
        else:
            _entry(f"{section}:", value, "", out)
    return ("\n".join(out) + "\n").encode("utf-8")


def _resource_entry(head: str, body: dict, out: list[str]) -> None:
    if set(body) - set(RESOURCE_KEYS):
        _resource(body)                     # raises, naming them
    if not body:
        out.append(f"{head} {{}}")
        return
    out.append(head)
    for key in RESOURCE_KEYS:
        if key in body:
            _entry(f"    {key}:", body[key], "    ", out, key == "Properties")


class _TemplateDumper(_Dumper):
    """PyYAML in the same layout: block style, literal blocks, never an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_TemplateDumper.add_representer(str, _text)


def to_yaml_reference(template: dict) -> bytes:
    """The same document written by PyYAML: what tests compare `to_yaml` against."""
    text = yaml.dump(ordered(template), Dumper=_TemplateDumper, sort_keys=False,
                     default_flow_style=False, allow_unicode=True, width=1_000_000,
                     indent=2)
    return text.encode("utf-8")


def to_json(data: Any) -> bytes:
    """`json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)` and a newline,
    written without the json module's pure-Python indenting encoder (5 times slower)."""
    out: list[str] = []
    try:
        _json(data, "\n", out)
    except _NotPlain:
        return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
                + "\n").encode()
    out.append("\n")
    return "".join(out).encode()


class _NotPlain(Exception):
    """A value `_json` leaves to the json module (keys other than strings, and such)."""


def _json(value: Any, newline: str, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_quoted(value))
    elif value is None or value is True or value is False:
        out.append("null" if value is None else "true" if value else "false")
    elif type(value) is int:
        out.append(int.__repr__(value))
    elif type(value) is float and value == value and value not in (_INF, -_INF):
        out.append(float.__repr__(value))
    elif type(value) is dict:
        if not value:
            out.append("{}")
            return
        if not all(type(key) is str for key in value):
            raise _NotPlain
        inner, first = newline + "  ", True
        out.append("{")
        for key in sorted(value):
            out.append(f"{inner}{_quoted(key)}: " if first else f",{inner}{_quoted(key)}: ")
            first = False
            _json(value[key], inner, out)
        out.append(newline + "}")
    elif type(value) in (list, tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        out.append("[")
        for index, item in enumerate(value):
            out.append(inner if index == 0 else "," + inner)
            _json(item, inner, out)
        out.append(newline + "]")
    else:
        raise _NotPlain


_INF = float("inf")
_quoted = json.encoder.encode_basestring
