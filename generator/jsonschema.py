"""A JSON Schema for blueprint files, generated from the kind specs.

Editors with a YAML language server use it for completion and errors as the author
types. It is generated from the same declarations the loader checks against, so it can
never disagree with them; CI keeps the committed copy current.
"""

from __future__ import annotations

from .kinds import registry
from .model import AppSpec, StageSpec
from .spec import Struct

SCHEMA_ID = "https://blueprints.invalid/schema/blueprint.schema.json"


def _resource_schemas() -> list[dict]:
    variants = []
    for name, kind in registry().items():
        body = Struct(kind.spec).schema()
        body["properties"] = {
            "kind": {"const": name, "description": kind.description},
            "depends_on": {"type": "array", "items": {"type": "string"},
                           "description": "logical ids this resource must follow"},
            **body["properties"]}
        body["required"] = ["kind"] + body.get("required", [])
        variants.append({"if": {"properties": {"kind": {"const": name}},
                                "required": ["kind"]},
                         "then": body})
    return variants


def blueprint_schema() -> dict:
    """One schema for both app.yaml and NN-<stage>.yaml files."""
    stage = Struct(StageSpec).schema()
    kinds = sorted(registry())
    stage["properties"]["resources"]["additionalProperties"] = {
        "type": "object",
        "properties": {"kind": {"enum": kinds, "description": "the resource kind"}},
        "required": ["kind"],
        "allOf": _resource_schemas(),
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        "title": "Blueprint (app.yaml or NN-<stage>.yaml)",
        "oneOf": [
            {**Struct(AppSpec).schema(), "title": "app.yaml"},
            {**stage, "title": "stage file"},
        ],
    }
