"""The fulfilment step of the state machine: an order in, the fulfilled order out."""

from __future__ import annotations

from typing import Any


def handler(event: dict, context: Any) -> dict:
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise ValueError("expected an order with an id")
    return {**event, "status": "fulfilled"}
