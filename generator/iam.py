"""Least-privilege IAM from declared access, written with awacs.

A blueprint says what a function or role may do: `access: [{resource: !Output
table.TableArn, allow: [read, write]}]`. Levels (`read`, `write`, …) come from the kind of
the resource the ARN points at (found through `!Ref`, `!GetAtt` and `!Output`); exact IAM
actions (`dynamodb:PutItem`) may be named instead. Wildcard actions are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Action, Allow, PolicyDocument, Principal, Statement

from .errors import did_you_mean
from .spec import ListOf, Str, Struct, Value, field

ACTION = r"[a-z0-9-]+:[A-Za-z0-9]+"
ALLOW = Str(r"[a-z_]+|" + ACTION,
            "an access level such as read or write, or an IAM action such as "
            "dynamodb:PutItem (no wildcards)")
REFUSED_POLICIES = ("FullAccess", "AdministratorAccess", "PowerUserAccess")
# X-Ray's write actions have no resource-level permissions: they only accept
# Resource "*". These two are the whole grant a traced function needs.
XRAY_WRITE = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")


@dataclass(frozen=True)
class Access:
    """One grant: which resource, and what may be done to it."""

    resource: Any = field(Value(), "the resource's ARN: !GetAtt X.Arn, !Output "
                                   "<stage>.<Output> or an ARN string")
    allow: tuple = field(ListOf(ALLOW, 1), "access levels (read, write, …) or exact "
                                           "IAM actions (dynamodb:PutItem)")


ACCESS_LIST = ListOf(Struct(Access, "an access entry"))


def document(statements: list[Statement]) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=statements)


def assume_role(service: str) -> PolicyDocument:
    return document([Statement(Effect=Allow, Principal=Principal("Service", [service]),
                               Action=[Action("sts", "AssumeRole")])])


def allow(actions: list[str], resources: list) -> Statement:
    """One Allow statement with sorted, de-duplicated actions."""
    names = sorted(set(actions))
    return Statement(Effect=Allow, Action=[Action(*a.split(":", 1)) for a in names],
                     Resource=resources)


def xray_writes() -> Statement:
    """Let a traced function send its trace segments (the only `*` resource we grant)."""
    statement = allow(list(XRAY_WRITE), ["*"])
    statement.Sid = "XRayAcceptsOnlyResourceStar"
    return statement


def grants(builder, resource, entries: tuple[Access, ...]) -> list[Statement]:
    """Statements for a resource's `access:` entries; mistakes are reported with positions."""
    node = resource.node.get("access")
    statements = []
    for index, entry in enumerate(entries):
        mark = node.item_marks[index] if node is not None else resource.mark
        path = f"resources.{resource.logical_id}.access[{index}]"
        actions = _actions(builder, entry, mark, path)
        kind = builder.target_kind(entry.resource)
        arn = builder.value(entry.resource)
        # One statement per distinct set of ARNs, in the order actions first need it.
        by_arns: dict[str, tuple[list, list]] = {}
        for action in sorted(set(actions)):
            arns = kind.access_arns(arn, action) if kind and kind.access_arns else [arn]
            key = repr([a.to_dict() if hasattr(a, "to_dict") else a for a in arns])
            by_arns.setdefault(key, (arns, []))[1].append(action)
        statements += [allow(names, arns) for arns, names in by_arns.values()]
    return statements


def _actions(builder, entry: Access, mark, path: str) -> list[str]:
    kind = builder.target_kind(entry.resource)
    actions: list[str] = []
    for item in entry.allow:
        if ":" in item:
            service = item.split(":", 1)[0]
            if kind and kind.service and service != kind.service:
                builder.error(mark, path + ".allow", f"'{item}' is not a {kind.service} "
                              f"action, but the resource is a {kind.name}")
            actions.append(item)
        elif kind is None:
            builder.error(mark, path + ".allow", f"cannot tell what kind of resource "
                          f"this is, so access level '{item}' means nothing; name IAM "
                          "actions instead, e.g. dynamodb:GetItem")
        elif item not in _levels(builder, kind, entry.resource):
            levels = ", ".join(_levels(builder, kind, entry.resource)) or "none"
            builder.error(mark, path + ".allow", f"a {kind.name}{_named(builder, entry)} "
                          f"has no access level '{item}'"
                          + did_you_mean(item, _levels(builder, kind, entry.resource))
                          + f"; its levels are {levels}")
        else:
            actions.extend(_levels(builder, kind, entry.resource)[item])
    return actions


def _levels(builder, kind, value) -> dict:
    """The kind's access levels, or those of the ARN attribute the value names."""
    return kind.attribute_access.get(builder.target_attribute(value), kind.access_levels)


def _named(builder, entry: Access) -> str:
    attribute = builder.target_attribute(entry.resource)
    return f"'s {attribute}" if attribute in builder.target_kind(entry.resource)\
        .attribute_access else ""
