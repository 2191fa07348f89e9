"""What one blueprint resource says about another of its stage.

Some generated settings depend on a neighbour: a queue's visibility timeout on the
function consuming it, a queue's policy on the topics subscribing it. Builders read the
other resources' specs (already checked) through these helpers; they never guess from
names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .source import Tag


def target_id(value: Any) -> str | None:
    """The logical id a `!Ref X`, `!GetAtt X.attr` or `!Sub '${X.attr}'` names, if any."""
    if not isinstance(value, Tag):
        return None
    if value.name == "Ref" and isinstance(value.value, str):
        return value.value
    if value.name == "GetAtt":
        target = value.value
        return (target.split(".", 1)[0] if isinstance(target, str)
                else target[0] if isinstance(target, list) and target else None)
    return None


def names(value: Any, logical_id: str) -> bool:
    return target_id(value) == logical_id


def of_kind(stage, kind: str) -> Iterator[Any]:
    """The stage's resources of one kind, in blueprint order."""
    for resource in stage.resources.values():
        if resource.kind.name == kind:
            yield resource
