"""What `clean` retained, recorded in the cloud: the next deploy adopts it, and a later
`clean --purge` finds it, from any machine.

Named resources (a table's name, a parameter's) are found by name; this record is what
finds the ones CloudFormation named itself (the truststore bucket, a KMS key). One item
per deleted stack in the bootstrap stack's `blueprint-state` table of the environment's
region, next to the deploy lock.
"""

from __future__ import annotations

import contextlib
import json

from .bootstrap import STATE_TABLE
from .clean import Retained
from .cloud import Cloud


def _id(stack: str) -> dict:
    return {"id": {"S": f"retained/{stack}"}}


def record(cloud: Cloud, region: str, kept: list[Retained]) -> bool:
    """Note what each stack left behind; False when there is no state table yet."""
    table = cloud.client("dynamodb", region)
    stacks = sorted({k.stack for k in kept})
    try:
        for stack in stacks:
            resources = {k.logical_id: [k.resource_type, k.physical_id, k.region]
                         for k in kept if k.stack == stack}
            table.put_item(TableName=STATE_TABLE, Item={
                **_id(stack), "resources": {"S": json.dumps(resources, sort_keys=True)}})
    except table.exceptions.ResourceNotFoundException:
        return False
    return True


def recorded(cloud: Cloud, region: str, stack: str) -> list[Retained]:
    """What a deleted stack left behind, as clean recorded it."""
    table = cloud.client("dynamodb", region)
    try:
        item = table.get_item(TableName=STATE_TABLE, Key=_id(stack),
                              ConsistentRead=True).get("Item")
    except table.exceptions.ResourceNotFoundException:
        return []
    resources = json.loads(item["resources"]["S"]) if item else {}
    return [Retained(stack, logical, kind, physical, where)
            for logical, (kind, physical, where) in sorted(resources.items())]


def forget(cloud: Cloud, region: str, stack: str) -> None:
    """The stack holds its resources again (or they were purged): drop the record."""
    table = cloud.client("dynamodb", region)
    with contextlib.suppress(table.exceptions.ResourceNotFoundException):
        table.delete_item(TableName=STATE_TABLE, Key=_id(stack))
