"""Adopt, never recreate: data-holding resources that exist already are imported.

`clean` keeps tables, buckets and keys (DeletionPolicy Retain), so the next deploy finds
them. Creating them again fails on AWS ("already exists") and, on the local cloud,
silently empties them. So before a stack is created or gains a named data-holding
resource, each one is looked up: absent → created as usual; present and owned by no
stack → imported with an IMPORT change set (the stack's deployed resources plus the
adopted ones, nothing else), then the normal change set runs; owned by another stack →
stop before any write. Everything here is pure: the cloud lookups live in `cloud.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .models import DATA_TYPES
from .templates import template_data

# resource type → (the template property that names it, the import identifier key)
IDENTIFIERS = {
    "AWS::DynamoDB::Table": ("TableName", "TableName"),
    "AWS::S3::Bucket": ("BucketName", "BucketName"),
    "AWS::SSM::Parameter": ("Name", "Name"),
    "AWS::Logs::LogGroup": ("LogGroupName", "LogGroupName"),
    "AWS::SQS::Queue": ("QueueName", "QueueUrl"),
    "AWS::SecretsManager::Secret": ("Name", "Id"),
    "AWS::KMS::Key": (None, "KeyId"),          # no name: found only through the record
}


@dataclass(frozen=True)
class Candidate:
    """A named data-holding resource of the template that the stack does not hold yet."""

    logical_id: str
    resource_type: str
    name: str


@dataclass(frozen=True)
class Existing:
    """What the cloud holds under a candidate's name: its import id and its owner."""

    identifier: str
    owner: str | None = None


@dataclass(frozen=True)
class Adoption:
    """One resource to import: its logical id, type and import identifier."""

    logical_id: str
    resource_type: str
    name: str
    identifier: dict

    @property
    def line(self) -> str:
        return f"adopt {self.logical_id} ({self.name}): it exists and holds data"

    def to_import(self) -> dict:
        return {"ResourceType": self.resource_type, "LogicalResourceId": self.logical_id,
                "ResourceIdentifier": self.identifier}


@dataclass(frozen=True)
class Conflict:
    """A candidate that exists and belongs to another stack: nothing may be written."""

    logical_id: str
    name: str
    owner: str


def candidates(template: bytes | str | dict, deployed: set[str]) -> list[Candidate]:
    """Named data-holding resources the stack does not hold yet, in template order.

    Only literal names count: a name built by CloudFormation cannot be looked up
    before the stack exists (and is new by construction)."""
    found = []
    for logical_id, resource in template_data(template).get("Resources", {}).items():
        kind = resource.get("Type", "")
        if kind not in DATA_TYPES or kind not in IDENTIFIERS or logical_id in deployed:
            continue
        name = resource.get("Properties", {}).get(IDENTIFIERS[kind][0] or "")
        if isinstance(name, str) and name:
            found.append(Candidate(logical_id, kind, name))
    return found


def recorded_candidates(template: bytes | str | dict, retained: list,
                        named: list[Candidate]) -> list[Candidate]:
    """Resources clean recorded for this stack (`ledger.py`) that the template still
    declares with the same type: found by the id they had, named or not."""
    resources = template_data(template).get("Resources", {})
    taken = {c.logical_id for c in named}
    return [Candidate(r.logical_id, r.resource_type, r.physical_id) for r in retained
            if r.logical_id not in taken and r.resource_type in IDENTIFIERS
            and resources.get(r.logical_id, {}).get("Type") == r.resource_type]


def plan_adoptions(stack: str, found: dict[Candidate, Existing | None]
                   ) -> tuple[list[Adoption], list[Conflict]]:
    """Which candidates to import, and which belong to another stack."""
    adopt, conflicts = [], []
    for candidate, existing in found.items():
        if existing is None:
            continue
        if existing.owner and existing.owner != stack:
            conflicts.append(Conflict(candidate.logical_id, candidate.name, existing.owner))
            continue
        key = IDENTIFIERS[candidate.resource_type][1]
        adopt.append(Adoption(candidate.logical_id, candidate.resource_type, candidate.name,
                              {key: existing.identifier}))
    return adopt, conflicts


def import_template(new: bytes | str | dict, old: str | dict | None,
                    adopt: list[Adoption]) -> str:
    """The IMPORT change set's template: what the stack holds now, plus the adopted
    resources as the new template declares them (each with a deletion policy, which
    an import requires), and no other change (outputs stay as deployed)."""
    wanted, before = template_data(new), template_data(old) if old else {}
    template = {k: v for k, v in wanted.items() if k not in ("Resources", "Outputs")}
    resources = dict(before.get("Resources", {}))
    for adoption in adopt:
        resource = dict(wanted["Resources"][adoption.logical_id])
        resource.setdefault("DeletionPolicy", "Retain")
        resources[adoption.logical_id] = resource
    template["Resources"] = resources
    if before.get("Outputs"):
        template["Outputs"] = before["Outputs"]
    return json.dumps(template, sort_keys=True)
