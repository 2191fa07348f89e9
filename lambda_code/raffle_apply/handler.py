"""POST /apply {"email", "name"?} → 201 {"email", "ticket"}; 409 if already entered or
once the winner is drawn."""

from __future__ import annotations

from typing import Any

from api_input import normalise_email
from raffle_common.entries import AlreadyEntered, Closed, Store, shared_store
from raffle_common.http import HttpError, handle, json_body

MAX_NAME = 100


def normalise_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > MAX_NAME:
        raise HttpError(400, f"name must be a string of at most {MAX_NAME} characters")
    return value.strip() or None


def apply(event: dict, store: Store) -> tuple[int, dict]:
    body = json_body(event)
    email = normalise_email(body.get("email"))
    name = normalise_name(body.get("name"))
    try:
        ticket = store.enter(email, name)
    except AlreadyEntered:
        raise HttpError(409, f"{email} is already entered") from None
    except Closed:
        raise HttpError(409, "the winner is drawn; entries are closed") from None
    return 201, {"email": email, "ticket": ticket}


def handler(event: dict, context: Any, store: Store | None = None) -> dict:
    store = store or shared_store()
    return handle(event, context, "POST", lambda e: apply(e, store), "/apply")
