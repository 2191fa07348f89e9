"""Stores queued orders in the table. A message that is not an order fails alone
(partial batch response): it is received again, then moves to the dead-letter queue."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3


def stored(body: str) -> dict:
    """The table item for one queued order; ValueError if the message is not one."""
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) \
            or not isinstance(data.get("item"), str) or not isinstance(data.get("quantity"), int):
        raise ValueError("not an order")
    return {"id": {"S": data["id"]}, "item": {"S": data["item"]},
            "quantity": {"N": str(data["quantity"])}, "status": {"S": "placed"}}


def handler(event: dict, context: Any, dynamodb: Any = None) -> dict:
    dynamodb = dynamodb or boto3.client("dynamodb")
    failed = []
    for record in event.get("Records", []):
        try:
            item = stored(record["body"])
        except ValueError:
            print(f"not an order: message {record['messageId']}")
            failed.append({"itemIdentifier": record["messageId"]})
            continue
        dynamodb.put_item(TableName=os.environ["TABLE_NAME"], Item=item)
    return {"batchItemFailures": failed}
