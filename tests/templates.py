"""Reading the committed templates back for assertions."""

from __future__ import annotations

from functools import cache

import yaml

from .conftest import REPO


@cache
def template(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


def all_templates() -> list[str]:
    return sorted(str(p.relative_to(REPO)) for p in (REPO / "build").glob("*/*/[0-9]*.yaml"))


def resources(path: str, type_: str | None = None) -> dict:
    found = template(path)["Resources"]
    return {k: v for k, v in found.items() if type_ is None or v["Type"] == type_}


def statements(document: dict) -> list[dict]:
    return document.get("Statement", [])


def policy_documents(path: str):
    """Every IAM policy document in a template: role policies and resource policies."""
    for logical_id, body in resources(path).items():
        props = body.get("Properties", {})
        for policy in props.get("Policies", []):
            yield logical_id, policy["PolicyDocument"]
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                yield logical_id, props[key]
