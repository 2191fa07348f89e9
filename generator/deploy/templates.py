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
    return template_data(body).get("Resources", {})


def template_data(body: str | bytes | dict) -> dict:
    """A whole template body (YAML or JSON, short-form tags read as long form) as data."""
    data = body if isinstance(body, dict) else yaml.load(body, Loader=_AnyTagLoader)
    return data if isinstance(data, dict) else {}
