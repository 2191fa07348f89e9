"""POST /draw (organiser only) → 200 {"winner", "ticket"}: drawn once, then the same.

The route is guarded by the organiser's authorizer (raffle_authorize). The first draw
chooses a ticket uniformly with `secrets` and stores the winner with a conditional
write; every later draw answers that same winner, so repeated draws disclose no one else.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from raffle_common.entries import NoEntries, Store, shared_store
from raffle_common.http import HttpError, handle


def draw(store: Store, choose: Callable[[int], int] = secrets.randbelow) -> tuple[int, dict]:
    try:
        winner, ticket = store.draw_once(choose)
    except NoEntries:
        raise HttpError(409, "nobody has entered yet; there is no one to draw") from None
    return 200, {"winner": winner, "ticket": ticket}


def handler(event: dict, context: Any, store: Store | None = None) -> dict:
    store = store or shared_store()
    return handle(event, context, "POST", lambda e: draw(store), "/draw")
