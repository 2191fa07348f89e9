"""The hourly report: how many orders are stored (printed, so it reaches the logs)."""

from __future__ import annotations

import os
from typing import Any

import boto3


def handler(event: dict, context: Any, dynamodb: Any = None) -> dict:
    dynamodb = dynamodb or boto3.client("dynamodb")
    count = dynamodb.scan(TableName=os.environ["TABLE_NAME"], Select="COUNT")["Count"]
    print(f"orders stored: {count}")
    return {"orders": count}
