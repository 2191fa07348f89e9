"""Dump: a template as deterministic, conventionally ordered YAML.

Same input → same bytes: sections in the order people read them, resources in blueprint
order, resource attributes in a fixed order, properties sorted by name, and YAML written
by libyaml (much faster than troposphere's JSON round trip through a pure-Python writer).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

SECTIONS = ("AWSTemplateFormatVersion", "Description", "Metadata", "Parameters",
            "Mappings", "Conditions", "Resources", "Outputs")
RESOURCE_KEYS = ("Type", "Condition", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy",
                 "CreationPolicy", "UpdatePolicy", "Metadata", "Properties")

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _TemplateDumper(_Dumper):
    """Block style, literal blocks for multi-line text, never an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_TemplateDumper.add_representer(str, _text)


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
    text = yaml.dump(ordered(template), Dumper=_TemplateDumper, sort_keys=False,
                     default_flow_style=False, allow_unicode=True, width=1_000_000,
                     indent=2)
    return text.encode("utf-8")


def to_json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
