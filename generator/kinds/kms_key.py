"""`kms_key`: a customer-managed KMS key with rotation, an alias and a least-privilege policy.

The account's administrators keep control through an explicit list of administrative
actions (no `kms:*`); each declared user may encrypt, decrypt and generate data keys,
optionally only through the AWS services named (the `kms:ViaService` condition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Action, Allow, ArnLike, Condition, Principal, Statement, StringEquals
from troposphere import kms

from ..cfn import ref, sub
from ..iam import document
from ..spec import Int, ListOf, Str, Struct, Value, field
from . import Kind

ADMIN_ACTIONS = ("CancelKeyDeletion", "CreateAlias", "DeleteAlias", "DescribeKey",
                 "DisableKey", "DisableKeyRotation", "EnableKey", "EnableKeyRotation",
                 "GetKeyPolicy", "GetKeyRotationStatus", "ListAliases", "ListGrants",
                 "ListKeyPolicies", "ListResourceTags", "PutKeyPolicy", "RevokeGrant",
                 "ScheduleKeyDeletion", "TagResource", "UntagResource", "UpdateAlias",
                 "UpdateKeyDescription")
USE_ACTIONS = ("Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey",
               "GenerateDataKeyWithoutPlaintext")
# What CloudWatch Logs needs to encrypt and read a log group with the key (AWS's own
# policy for this names them with wildcards: these are the actions they expand to).
LOGS_ACTIONS = ("Decrypt", "DescribeKey", "Encrypt", "GenerateDataKey",
                "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo")
SERVICES = ("cloudwatch", "events", "scheduler", "s3")
VIA = ("dynamodb", "ssm", "s3", "sqs", "sns", "secretsmanager", "logs")


@dataclass(frozen=True)
class KeyUser:
    principal: Any = field(Value(), "the role ARN allowed to use the key")
    via: tuple = field(ListOf(Str(choices=VIA)),
                       "only through these services (kms:ViaService); empty: directly", ())


@dataclass(frozen=True)
class KmsKeySpec:
    alias: str = field(Str(r"alias/[A-Za-z0-9/_-]{1,250}", "alias/<name>"),
                       "a friendly name for the key")
    description: str = field(Str(max_len=8192), "what the key protects", None)
    users: tuple = field(ListOf(Struct(KeyUser, "a key user")),
                         "principals that may use the key for data", ())
    deletion_window: int = field(Int(7, 30), "days a deleted key can still be recovered", 30)
    account_use_via: tuple = field(ListOf(Str(choices=VIA)), "let principals of this "
                                   "account whose IAM policies allow it use the key, only "
                                   "through these services (e.g. the deployer storing an "
                                   "SSM SecureString)", ())
    log_groups: tuple = field(ListOf(Value()), "names (may end in *) of log groups "
                              "CloudWatch Logs may encrypt with the key, e.g. "
                              "'{{ app }}-{{ env }}-*'", ())
    services: tuple = field(ListOf(Str(choices=SERVICES)), "AWS services that may "
                            "encrypt with the key for this account (e.g. cloudwatch, so "
                            "alarms can publish to a topic the key encrypts)", ())


def _services(services: tuple[str, ...]) -> list:
    return [sub(f"{service}.${{AWS::Region}}.amazonaws.com") for service in services]


def _via_condition(services: tuple[str, ...]) -> Condition:
    return Condition(StringEquals("kms:ViaService", _services(services)))


def _policy(spec: KmsKeySpec, b) -> Any:
    account = Principal("AWS", [sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")])
    statements = [Statement(Sid="AccountAdministratorsKeepControl", Effect=Allow,
                            Principal=account, Resource=["*"],
                            Action=[Action("kms", a) for a in ADMIN_ACTIONS])]
    if spec.account_use_via:
        statements.append(Statement(
            Sid="AccountUsesKeyThroughServices", Effect=Allow, Principal=account,
            Resource=["*"], Action=[Action("kms", a) for a in USE_ACTIONS + ("CreateGrant",)],
            Condition=Condition(StringEquals({
                "kms:CallerAccount": sub("${AWS::AccountId}"),
                "kms:ViaService": _services(spec.account_use_via)}))))
    if spec.log_groups:
        statements.append(_logs_statement(spec, b))
    if spec.services:
        statements.append(Statement(
            Sid="ServicesEncryptForThisAccount", Effect=Allow,
            Principal=Principal("Service", [f"{s}.amazonaws.com" for s in spec.services]),
            Resource=["*"], Action=[Action("kms", a) for a in ("Decrypt", "GenerateDataKey")],
            Condition=Condition(StringEquals("aws:SourceAccount", sub("${AWS::AccountId}")))))
    for index, user in enumerate(spec.users):
        principal = Principal("AWS", [b.value(user.principal)])
        use = Statement(Sid=f"User{index + 1}UsesKey", Effect=Allow, Principal=principal,
                        Resource=["*"], Action=[Action("kms", a) for a in USE_ACTIONS])
        if user.via:
            use.Condition = _via_condition(user.via)
        statements.append(use)
    return document(statements)


def _logs_statement(spec: KmsKeySpec, b) -> Statement:
    """CloudWatch Logs may use the key, only for the named log groups of this account."""
    groups = [sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                  "log-group:${Name}", Name=b.value(name)) for name in spec.log_groups]
    return Statement(
        Sid="CloudWatchLogsEncryptsNamedLogGroups", Effect=Allow,
        Principal=Principal("Service", [sub("logs.${AWS::Region}.amazonaws.com")]),
        Resource=["*"], Action=[Action("kms", a) for a in LOGS_ACTIONS],
        Condition=Condition(ArnLike("kms:EncryptionContext:aws:logs:arn", groups)))


def build(b, resource) -> None:
    spec: KmsKeySpec = resource.spec
    name = resource.logical_id
    props: dict[str, Any] = {"EnableKeyRotation": True, "KeyPolicy": _policy(spec, b),
                             "PendingWindowInDays": spec.deletion_window}
    if spec.description:
        props["Description"] = spec.description
    key = kms.Key(name, **props)
    key.DeletionPolicy = key.UpdateReplacePolicy = "Retain"
    b.add(resource, key, kms.Alias(f"{name}Alias", AliasName=spec.alias, TargetKeyId=ref(name)))


KIND = Kind(
    name="kms_key",
    description="Customer-managed KMS key: rotation on, alias, explicit admin and "
                "user statements, retained",
    spec=KmsKeySpec,
    build=build,
    attributes=frozenset({"Arn", "KeyId"}),
    parts={"Alias": frozenset()},
    service="kms",
    access_levels={"use": tuple(f"kms:{a}" for a in ("Decrypt", "Encrypt",
                                                     "GenerateDataKey")),
                   "decrypt": ("kms:Decrypt",)},
    data_holding=True,
)
