"""Security review of a change set: what it newly allows, and which protections it drops.

A change is a *security change* when it adds or widens permissions, or removes or relaxes
a protection: a resource policy deleted, a Deny statement or a Condition dropped (whole
statements are compared, not only their actions), or a change to a setting listed in
PROTECTIONS (API keys, authorizers, mutual TLS, TLS policies, CORS, CloudFront viewer
protocol, encryption, key rotation, point-in-time recovery, public access blocks, log
retention, dead-letter queues, JWT authorizers, throttling, tracing, state machine
logs, subscription filters). Pure: the deployed and the new template's resources in,
rows out; the deployer lists the rows and asks for consent before it executes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..policyguard import documents, statements
from .models import Change

_C = "DistributionConfig"
# Per resource type: (property path, what it protects). Any change to one is listed.
PROTECTIONS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "AWS::ApiGateway::Method": ((("ApiKeyRequired",), "API key required"),
                                (("AuthorizationType",), "authorization type"),
                                (("AuthorizerId",), "authorizer")),
    "AWS::ApiGatewayV2::Route": ((("ApiKeyRequired",), "API key required"),
                                 (("AuthorizationType",), "authorization type"),
                                 (("AuthorizerId",), "authorizer")),
    "AWS::ApiGateway::RestApi": ((("DisableExecuteApiEndpoint",),
                                  "default execute-api endpoint disabled"),),
    "AWS::ApiGatewayV2::Api": ((("DisableExecuteApiEndpoint",),
                                "default execute-api endpoint disabled"),
                               (("CorsConfiguration",), "CORS origins and methods")),
    "AWS::ApiGateway::DomainName": ((("MutualTlsAuthentication",), "mutual TLS"),
                                    (("SecurityPolicy",), "TLS security policy")),
    "AWS::ApiGatewayV2::DomainName": ((("MutualTlsAuthentication",), "mutual TLS"),
                                      (("DomainNameConfigurations",),
                                       "TLS security policy and certificate")),
    "AWS::CloudFront::Distribution": (
        ((_C, "DefaultCacheBehavior", "ViewerProtocolPolicy"), "viewer protocol (HTTPS)"),
        ((_C, "CacheBehaviors"), "cache behaviours (viewer protocol)"),
        ((_C, "ViewerCertificate"), "viewer certificate and minimum TLS version")),
    "AWS::S3::Bucket": ((("BucketEncryption",), "encryption at rest"),
                        (("PublicAccessBlockConfiguration",), "public access block"),
                        (("CorsConfiguration",), "CORS")),
    "AWS::DynamoDB::Table": ((("SSESpecification",), "encryption at rest"),
                             (("PointInTimeRecoverySpecification",),
                              "point-in-time recovery")),
    "AWS::SQS::Queue": ((("KmsMasterKeyId",), "encryption key"),
                        (("SqsManagedSseEnabled",), "SQS-managed encryption"),
                        (("RedrivePolicy",), "dead-letter queue (poisoned messages kept)")),
    "AWS::ApiGatewayV2::Authorizer": ((("JwtConfiguration",), "JWT issuer and audiences"),),
    "AWS::ApiGateway::Stage": ((("MethodSettings",), "throttling"),
                               (("TracingEnabled",), "X-Ray tracing")),
    "AWS::StepFunctions::StateMachine": ((("LoggingConfiguration",), "execution logs"),
                                         (("TracingConfiguration",), "X-Ray tracing")),
    "AWS::SNS::Subscription": ((("FilterPolicy",), "which messages reach the subscriber"),),
    "AWS::SNS::Topic": ((("KmsMasterKeyId",), "encryption key"),),
    "AWS::Logs::LogGroup": ((("KmsKeyId",), "encryption key"),
                            (("RetentionInDays",), "log retention")),
    "AWS::KMS::Key": ((("EnableKeyRotation",), "key rotation"),),
    "AWS::Lambda::Function": ((("KmsKeyArn",), "environment encryption key"),),
    "AWS::Lambda::Url": ((("AuthType",), "auth type"), (("Cors",), "CORS")),
    "AWS::SecretsManager::Secret": ((("KmsKeyId",), "encryption key"),),
}
# Removing one of these removes a protection (not only the resource).
REMOVAL_WEAKENS = {
    "AWS::S3::BucketPolicy": "the bucket policy goes, and its statements (e.g. TLS only, "
                             "the CloudFront-only read) stop applying",
    "AWS::SQS::QueuePolicy": "the queue policy goes, and its statements stop applying",
    "AWS::SNS::TopicPolicy": "the topic policy goes, and its statements stop applying",
    "AWS::ApiGateway::Authorizer": "the authorizer goes: check no route is left open",
    "AWS::ApiGatewayV2::Authorizer": "the authorizer goes: check no route is left open",
}
ABSENT = object()


@dataclass(frozen=True)
class SecurityChange:
    """One change of a change set that needs consent, and why, a row a reason."""

    change: Change
    rows: tuple[str, ...]


def review(changes: list[Change], old: dict, new: dict) -> list[SecurityChange]:
    """The security changes among `changes`; `old`/`new` are the templates' Resources."""
    found = []
    for change in changes:
        before, after = old.get(change.logical_id), new.get(change.logical_id)
        rows = resource_rows(change.resource_type, before, after)
        if change.action == "Remove" and change.resource_type in REMOVAL_WEAKENS:
            rows = [f"- {REMOVAL_WEAKENS[change.resource_type]}"] + rows
        if rows or change.is_security:
            found.append(SecurityChange(change, tuple(rows)))
    return found


def resource_rows(kind: str, old: dict | None, new: dict | None) -> list[str]:
    """Rows for one resource: permissions added, statements dropped, protections changed."""
    rows = added_permissions(old, new) + dropped_statements(old, new)
    if old is not None and new is not None:
        rows += changed_protections(kind, _props(old), _props(new))
    return rows


def changed_protections(kind: str, old: dict, new: dict) -> list[str]:
    rows = []
    for path, what in PROTECTIONS.get(kind, ()):
        before, after = _at(old, path), _at(new, path)
        if before != after:
            rows.append(f"~ {what} ({'.'.join(path)}): {_shown(before)} -> {_shown(after)}")
    return rows


def _grants(resource: dict | None) -> set[tuple[str, str, str, str, str]]:
    """(effect, principal, action, resource, condition) rows of every policy it carries."""
    rows = set()
    for statement in _statements(resource):
        principal = _json(statement.get("Principal", ""))
        condition = _json(statement.get("Condition", ""))
        for action in _listed(statement.get("Action", statement.get("NotAction"))):
            for target in _listed(statement.get("Resource", "")):
                effect = statement.get("Effect", "Allow")
                rows.add((effect if isinstance(effect, str) else _json(effect), principal,
                          action if isinstance(action, str) else _json(action),
                          _json(target), condition))
    return rows


def added_permissions(old: dict | None, new: dict | None) -> list[str]:
    """What a new version of a resource allows that the old one did not, one line each
    (an Allow that lost its Condition counts as new)."""
    rows = sorted(row for row in _grants(new) - _grants(old) if row[0] != "Deny")
    return [f"+ allow {action}" + (f" on {target}" if target != '""' else "")
            + (f" to {principal}" if principal != '""' else "")
            + (f" when {condition}" if condition != '""' else "")
            for _, principal, action, target, condition in rows]


def dropped_statements(old: dict | None, new: dict | None) -> list[str]:
    """Deny statements and conditions the new version no longer has (a Deny that goes
    allows again what it denied; a Condition that goes widens its Allow)."""
    kept = {_json(s) for s in _statements(new)}
    rows = []
    for statement in _statements(old):
        if _json(statement) in kept:
            continue
        if statement.get("Effect") != "Allow":
            rows.append(f"- drops Deny {_shown(statement.get('Action'))} on "
                        f"{_shown(statement.get('Resource'))}"
                        + (f" when {_shown(statement['Condition'])}"
                           if statement.get("Condition") else ""))
        elif statement.get("Condition"):
            rows.append(f"- changes or drops the condition {_shown(statement['Condition'])} "
                        f"of an Allow of {_shown(statement.get('Action'))}")
    return rows


def _statements(resource: dict | None) -> list[dict]:
    if not resource:
        return []
    props = _props(resource)
    return [s for _, document, _ in documents(str(resource.get("Type", "")), props)
            if isinstance(document, dict) for s in statements(document) if isinstance(s, dict)]


def _props(resource: dict) -> dict:
    props = resource.get("Properties") or {}
    return props if isinstance(props, dict) else {}


def _at(props: dict, path: tuple[str, ...]) -> Any:
    value: Any = props
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return ABSENT
        value = value[key]
    return value


def _shown(value: Any, limit: int = 90) -> str:
    if value is ABSENT:
        return "(none)"
    text = value if isinstance(value, str) else _json(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def security_lines(found: list[SecurityChange]) -> list[str]:
    """The review for a terminal: each change, then what it allows or drops."""
    lines = []
    for item in found:
        change = item.change
        lines.append(f"  {change.action} {change.logical_id} ({change.resource_type})"
                     + (f": {', '.join(change.properties)}" if change.properties else ""))
        lines += [f"      {row}" for row in item.rows]
    return lines


def security_markdown(found: list[SecurityChange]) -> list[str]:
    """The review for plan.md: a section a reviewer reads before approving."""
    lines = ["#### Security changes (need `--yes` or a typed yes)", ""]
    for item in found:
        change = item.change
        lines.append(f"- {change.action} `{change.logical_id}` (`{change.resource_type}`)")
        lines += [f"  - `{row}`" for row in item.rows]
    return lines + [""]
