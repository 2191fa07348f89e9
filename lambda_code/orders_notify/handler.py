"""For each new order on the table's stream: run its fulfilment (an express state
machine, synchronously) and publish a signed `order_placed` event to the topic."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

import boto3
from botocore.config import Config

# StartSyncExecution's endpoint has a `sync-` host prefix; local endpoints (an IP) cannot
# take one, and on AWS the unprefixed endpoint answers too.
_LOCAL = Config(inject_host_prefix=False) if os.environ.get("AWS_ENDPOINT_URL") else None


def new_orders(event: dict) -> list[dict]:
    """Orders inserted, as plain values, from a stream batch (NEW_IMAGE)."""
    found = []
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage")
        if record.get("eventName") == "INSERT" and image:
            found.append({"id": image["id"]["S"], "item": image["item"]["S"],
                          "quantity": int(image["quantity"]["N"])})
    return found


def signature(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def handler(event: dict, context: Any) -> dict:
    sfn = boto3.client("stepfunctions", config=_LOCAL)
    sns = boto3.client("sns")
    key = boto3.client("secretsmanager").get_secret_value(
        SecretId=os.environ["SIGNING_KEY_SECRET"])["SecretString"]
    for order in new_orders(event):
        run = sfn.start_sync_execution(stateMachineArn=os.environ["STATE_MACHINE_ARN"],
                                       input=json.dumps(order))
        if run["status"] != "SUCCEEDED":
            raise RuntimeError(f"fulfilment of {order['id']} ended {run['status']}")
        message = run["output"]
        sns.publish(TopicArn=os.environ["TOPIC_ARN"], Message=message,
                    MessageAttributes={
                        "type": {"DataType": "String", "StringValue": "order_placed"},
                        "signature": {"DataType": "String",
                                      "StringValue": signature(key, message)}})
    return {"batchItemFailures": []}
