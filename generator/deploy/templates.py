"""Reading template bodies back (ours, or whatever a stack was last deployed with)."""

from __future__ import annotations

import yaml


class _AnyTagLoader(yaml.SafeLoader):
    """Reads short-form intrinsics (`!Ref X`) as {"Ref": X}-like mappings, so templates
    written by other tools can be compared too."""


def _tag(loader: _AnyTagLoader, suffix: str, node: yaml.Node):
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_AnyTagLoader.add_multi_constructor("!", _tag)


def template_resources(body: str | bytes | dict) -> dict:
    """The Resources of a template body (YAML or JSON; CloudFormation may hand back a dict)."""
    data = body if isinstance(body, dict) else yaml.load(body, Loader=_AnyTagLoader)
    return (data or {}).get("Resources", {}) if isinstance(data, dict) else {}
