"""The policy guard: every built template is checked before anything is written.

`access:` entries are least privilege by construction, but a template can carry policies
from elsewhere too: `raw` resources, roles, managed policies, resource policies. So the
guard reads the finished template, whatever built it, and refuses what widens access
beyond what a reviewer can judge: wildcard actions, `NotAction`/`NotResource` in an
Allow, identity policies on every resource (`*`) except for the few actions AWS only
offers that way (listed below with why), AWS's admin and `*FullAccess` managed policies
(also spelled with `!Sub`/`!Join`), and a principal of everyone without a condition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Actions that have no resource-level permissions: `Resource: '*'` is the only form AWS
# accepts for them. Each is read-only or writes only telemetry.
STAR_ONLY = {
    "xray:PutTraceSegments": "X-Ray tracing: segments are not resources",
    "xray:PutTelemetryRecords": "X-Ray tracing: telemetry is not a resource",
    "xray:GetSamplingRules": "X-Ray tracing: reads the account's sampling rules",
    "xray:GetSamplingTargets": "X-Ray tracing: reads the account's sampling targets",
    "cloudwatch:PutMetricData": "metrics are scoped by namespace, not by resource",
    "ec2:CreateNetworkInterface": "a function in a VPC: its network interfaces do not "
                                  "exist before it creates them",
    "ec2:DescribeNetworkInterfaces": "a function in a VPC: describe calls take no ARN",
    "ec2:DeleteNetworkInterface": "a function in a VPC: removes the interfaces it made",
    "sts:GetCallerIdentity": "who am I: takes no resource",
}
# Step Functions (and other vended logs) set up log delivery with these: AWS documents
# them with `Resource: '*'` only, as deliveries have no ARN before they exist.
STAR_ONLY.update({action: "log delivery of a state machine: deliveries take no ARN" for
                  action in ("logs:CreateLogDelivery", "logs:DeleteLogDelivery",
                             "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
                             "logs:GetLogDelivery", "logs:ListLogDeliveries",
                             "logs:PutResourcePolicy", "logs:UpdateLogDelivery")})
IDENTITY_TYPES = frozenset({
    "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User",
    "AWS::IAM::Group", "AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy"})
POLICY_KEYS = ("PolicyDocument", "KeyPolicy", "ResourcePolicy", "RepositoryPolicyText",
               "Policy", "AssumeRolePolicyDocument")
ADMIN_POLICY = re.compile(r"\b(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess)\b")
WHO_CONDITIONS = ("SourceArn", "SourceAccount", "PrincipalOrgID")


@dataclass(frozen=True)
class Violation:
    """One thing the guard refuses: in which resource, where in it, and why."""

    logical_id: str
    path: tuple            # keys and indexes inside the resource, e.g. ("Properties", …)
    message: str


def check_template(template: dict) -> list[Violation]:
    """Every violation in a template's resources, in resource order."""
    found = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict):
            for path, message in _resource(resource):
                found.append(Violation(logical_id, path, message))
    return found


def _resource(resource: dict) -> Iterator[tuple[tuple, str]]:
    kind = resource.get("Type", "")
    props = resource.get("Properties") or {}
    if not isinstance(props, dict):
        return
    base = ("Properties",)
    for path, document, identity in documents(kind, props):
        yield from _document(document, base + path, identity)
    for index, arn in enumerate(_listed(props.get("ManagedPolicyArns"))):
        found = ADMIN_POLICY.search(_text(arn))
        if found:
            yield base + ("ManagedPolicyArns", index), (
                f"the AWS managed policy {found.group(1)} grants far more than one app "
                "needs; declare `access:` (or name the actions) instead")
    if kind == "AWS::Lambda::Permission" and props.get("Principal") == "*" \
            and not any(k in props for k in WHO_CONDITIONS):
        yield base + ("Principal",), ("lets anyone invoke the function; name the calling "
                                      "service and its SourceArn")


def documents(kind: str, props: dict) -> Iterator[tuple[tuple, dict, bool]]:
    """(path in Properties, policy document, is an identity policy) of every policy a
    resource's properties carry."""
    for key in POLICY_KEYS:
        if isinstance(props.get(key), dict):
            yield (key,), props[key], kind in IDENTITY_TYPES and key != "AssumeRolePolicyDocument"
    for index, policy in enumerate(_listed(props.get("Policies"))):
        if isinstance(policy, dict) and isinstance(policy.get("PolicyDocument"), dict):
            yield ("Policies", index, "PolicyDocument"), policy["PolicyDocument"], True


def statements(document: dict) -> list:
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def _document(document: dict, path: tuple, identity: bool) -> Iterator[tuple[tuple, str]]:
    statements = document.get("Statement", [])
    many = isinstance(statements, list)
    for index, statement in enumerate(statements if many else [statements]):
        if isinstance(statement, dict) and statement.get("Effect", "Allow") == "Allow":
            at = path + (("Statement", index) if many else ("Statement",))
            yield from _statement(statement, at, identity)


def _statement(statement: dict, at: tuple, identity: bool) -> Iterator[tuple[tuple, str]]:
    for key in ("NotAction", "NotResource"):
        if key in statement:
            yield at + (key,), (f"{key} in an Allow grants everything it does not name; "
                                "list what is allowed instead")
    actions = [_text(a) for a in _listed(statement.get("Action"))]
    for index, action in enumerate(actions):
        if "*" in action:
            yield at + ("Action", index) if len(actions) > 1 else at + ("Action",), (
                f"an Allow with the wildcard action '{action}' grants more than intended; "
                "name each action, e.g. s3:GetObject")
    if identity and "*" in [_text(r) for r in _listed(statement.get("Resource"))]:
        wide = sorted(a for a in actions if a not in STAR_ONLY and "*" not in a)
        if wide:
            yield at + ("Resource",), (
                f"{', '.join(wide)} allowed on every resource ('*'); name the resources "
                "(only " + ", ".join(sorted(STAR_ONLY)) + " may use '*')")
    if _everyone(statement.get("Principal")) and not statement.get("Condition"):
        yield at + ("Principal",), ("an Allow to every principal ('*') without a Condition "
                                    "makes this public; add a Condition (e.g. aws:SourceArn) "
                                    "or name the principal")


def _everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in [_text(v) for v in _listed(value)] for value in principal.values())
    return False


def _listed(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A string as it is; an intrinsic (e.g. !Sub, !Join) as its JSON, to search in."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
