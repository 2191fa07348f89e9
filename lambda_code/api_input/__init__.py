"""Request bodies checked before any AWS call, so a hostile body is a 400, never a 500.

Shared by the raffle and the customers functions (each blueprint packages it beside the
handler with `include: [api_input]`), so both APIs refuse the same things in the same
words and validate e-mail addresses with the same rules:

- the body is text: valid UTF-8 when base64-encoded, no lone surrogates otherwise;
- at most `limit` bytes, and nested at most MAX_DEPTH levels, checked before parsing,
  because Python's json recursion fails near 1,000 levels with a RecursionError, which
  is no ValueError and would become a 500;
- strict JSON (no NaN or Infinity), a JSON object at the top;
- every string, keys included, free of control (Cc), format (Cf) and surrogate (Cs)
  characters: they are invisible in a UI, break logs and downstream encoders (a lone
  surrogate has no UTF-8 form, so DynamoDB cannot store it), and no field of ours needs them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from typing import Any

MAX_DEPTH = 16
REFUSED = {"Cc": "a control character", "Cf": "a format character",
           "Cs": "a lone surrogate"}
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                   r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
MAX_EMAIL = 254


class BadInput(ValueError):
    """A client mistake, answered 400 with this message."""


def json_object(event: dict, limit: int) -> dict:
    """The request body as a checked JSON object, or BadInput saying what is wrong."""
    raw = body_text(event, limit)
    check_depth(raw)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant) if raw else None
    except (ValueError, RecursionError):
        raise BadInput("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadInput("body must be a JSON object")
    check_strings(data, "")
    return data


def body_text(event: dict, limit: int) -> str:
    """The body as text of at most `limit` UTF-8 bytes."""
    raw = event.get("body") or ""
    if not isinstance(raw, str):
        raise BadInput("body must be text")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("body is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")     # decoded (and refused) below
    try:
        text = data.decode("utf-8")         # refuses lone surrogates and non-UTF-8 bytes
    except UnicodeDecodeError:
        raise BadInput("body is not valid UTF-8") from None
    if len(data) > limit:
        raise BadInput(f"body is larger than {limit} bytes")
    return text


def check_depth(raw: str) -> None:
    """Refuse JSON text nested deeper than MAX_DEPTH, without parsing it (one pass)."""
    depth, in_string, escaped = 0, False, False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise BadInput(f"body is nested deeper than {MAX_DEPTH} levels")
        elif char in "]}":
            depth -= 1


def check_strings(value: Any, path: str) -> None:
    """Every string in a parsed body (keys too) is clean text; BadInput names where not
    ("name", "tags[2]", "a key in address"). Recursion is bounded by check_depth."""
    if isinstance(value, str):
        check_text(value, path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, f"a key in {path or 'the body'}")
            check_strings(item, f"{path}.{key[:40]}" if path else key[:40])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_strings(item, f"{path or 'body'}[{index}]")


def check_text(text: str, where: str) -> None:
    if text.isprintable():      # fast path: nothing in Cc, Cf, Cs (nor other separators)
        return
    for char in text:
        category = unicodedata.category(char)
        if category in REFUSED:
            raise BadInput(f"{where} contains {REFUSED[category]} "
                           f"(U+{ord(char):04X}); send plain text")


def normalise_email(value: Any, name: str = "email") -> str:
    """A trimmed, lower-cased e-mail address, or BadInput."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{name} is required: a string such as ann@example.com")
    email = value.strip().lower()
    if len(email) > MAX_EMAIL:
        raise BadInput(f"{name} is longer than {MAX_EMAIL} characters")
    if not EMAIL.fullmatch(email) or ".." in email:
        raise BadInput(f"{name} is not a valid e-mail address")
    return email


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
