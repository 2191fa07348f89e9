"""POST /draw → 200 {"winner", "ticket", "entries"}: uniform over tickets, two item reads."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from raffle_common.entries import NoEntries, Store, shared_store
from raffle_common.http import HttpError, handle


def draw(store: Store, choose: Callable[[int], int] = secrets.randbelow) -> tuple[int, dict]:
    try:
        winner, ticket = store.draw(choose)
    except NoEntries:
        raise HttpError(409, "nobody has entered yet; there is no one to draw") from None
    return 200, {"winner": winner, "ticket": ticket}


def handler(event: dict, context: Any, store: Store | None = None) -> dict:
    store = store or shared_store()
    return handle(event, context, "POST", lambda e: draw(store), "/draw")
