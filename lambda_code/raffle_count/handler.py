"""GET /count → 200 {"count": n}, reading a single counter item."""

from __future__ import annotations

from typing import Any

from raffle_common.entries import Store, shared_store
from raffle_common.http import handle


def handler(event: dict, context: Any, store: Store | None = None) -> dict:
    store = store or shared_store()
    return handle(event, context, "GET", lambda e: (200, {"count": store.count()}), "/count")
