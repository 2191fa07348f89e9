"""The editor schema is generated from the kind specs and agrees with the loader."""

from __future__ import annotations

import json

import jsonschema
import pytest

from generator.jsonschema import blueprint_schema
from generator.source import Tag, load_file

from .conftest import REPO


def _plain(value):
    """Intrinsics as an editor's YAML server sees them with customTags: plain scalars."""
    if isinstance(value, Tag):
        return "!" + value.name
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _blueprints():
    return sorted(p.relative_to(REPO) for p in (REPO / "blueprints").rglob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft7Validator(blueprint_schema())


def _values(path) -> dict | None:
    """The first environment's values of the app a stage file belongs to."""
    if path.name == "app.yaml":
        return None
    app = load_file(str(REPO), str(path.parent / "app.yaml"), None)
    env_name, env = next(iter(app["environments"].items()))
    return {**(env.get("values") or {}), "env": env_name, "app": app["name"],
            "region": env["region"]}


@pytest.mark.parametrize("path", _blueprints(), ids=str)
def test_shipped_blueprints_validate(path, validator):
    data = load_file(str(REPO), str(path), _values(path))
    assert list(validator.iter_errors(_plain(data))) == []


@pytest.mark.parametrize("path", _blueprints(), ids=str)
def test_shipped_blueprints_validate_as_an_editor_sees_them_unrendered(path, validator):
    data = load_file(str(REPO), str(path), None)
    assert list(validator.iter_errors(_plain(data))) == []


@pytest.mark.parametrize("bad", [
    {"resources": {"T": {"kind": "table", "key": {"id": "S"}, "biling": "on_demand"}}},
    {"resources": {"T": {"kind": "table"}}},
    {"resources": {"F": {"kind": "function", "code": "x", "memory": 64}}},
    {"resources": {"X": {"kind": "nope"}}},
    {"resources": {"C": {"kind": "certificate", "domain": "Not A Domain",
                         "hosted_zone": "example.com"}}},
])
def test_schema_rejects_what_the_loader_rejects(bad, validator):
    assert list(validator.iter_errors(bad))


def test_committed_schema_is_current():
    committed = json.loads((REPO / "build/schema/blueprint.schema.json").read_text())
    assert committed == blueprint_schema()
