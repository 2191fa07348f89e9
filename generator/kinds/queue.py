"""`queue`: an SQS queue — encrypted, TLS only, with a dead-letter queue of its own.

A message received `max_receives` times without being deleted moves to `<Name>Dlq`, kept
longer (14 days by default) so someone can look at it. The visibility timeout follows
AWS's advice for a queue feeding Lambda: six times the timeout of the function that
consumes it (found among the stage's function `events:`). Topics of the stage that
subscribe the queue are allowed, each on its own ARN, in its one policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Action, Allow, ArnEquals, Bool, Condition, Deny, Principal, Statement
from troposphere import sqs

from ..cfn import get_att, ref
from ..iam import document
from ..links import names, of_kind
from ..spec import Bool as BoolType
from ..spec import Int, Struct, Value, field
from . import Kind, Waiver

FOURTEEN_DAYS = 1_209_600


@dataclass(frozen=True)
class DeadLetter:
    max_receives: int = field(Int(1, 1000), "receives before a message moves to the "
                                            "dead-letter queue", 5)
    retention: int = field(Int(60, FOURTEEN_DAYS), "seconds the dead-letter queue keeps "
                                                   "a message", FOURTEEN_DAYS)


@dataclass(frozen=True)
class QueueSpec:
    fifo: bool = field(BoolType(), "first-in-first-out, exactly-once (names end in .fifo)",
                       False)
    name: Any = field(Value(), "the queue name (default: generated)", None)
    kms_key: Any = field(Value(), "a KMS key (ARN or !Ref) encrypting messages (default: "
                                  "SQS-managed encryption)", None)
    retention: int = field(Int(60, FOURTEEN_DAYS), "seconds a message is kept", 345_600)
    visibility_timeout: int = field(Int(0, 43_200), "seconds a received message stays "
                                    "hidden (default: 6 × its consuming function's "
                                    "timeout, at least 30)", None)
    delay: int = field(Int(0, 900), "seconds each new message waits before delivery", 0)
    dead_letter: DeadLetter = field(Struct(DeadLetter, "dead_letter"), "the built-in "
                                    "dead-letter queue", DeadLetter())


def consumers(b, logical_id: str) -> list:
    """The stage's functions with a queue trigger on this queue."""
    return [f for f in of_kind(b.stage, "function")
            for event in (f.spec.events or {}).values() if names(event.queue, logical_id)]


def _visibility(b, resource) -> int:
    spec: QueueSpec = resource.spec
    slowest = max((f.spec.timeout for f in consumers(b, resource.logical_id)), default=0)
    if spec.visibility_timeout is None:
        return max(30, 6 * slowest)
    if spec.visibility_timeout < slowest:
        b.error(resource.node.value_marks["visibility_timeout"],
                f"resources.{resource.logical_id}.visibility_timeout",
                f"{spec.visibility_timeout}s is shorter than the timeout of the function "
                f"consuming it ({slowest}s): Lambda refuses the trigger; use at least "
                f"{6 * slowest} (6 × its timeout)")
    return spec.visibility_timeout


def _encryption(b, spec: QueueSpec) -> dict[str, Any]:
    if spec.kms_key is None:
        return {"SqsManagedSseEnabled": True}
    return {"KmsMasterKeyId": b.value(spec.kms_key), "KmsDataKeyReusePeriodSeconds": 300}


def build(b, resource) -> None:
    spec: QueueSpec = resource.spec
    name = resource.logical_id
    common = {**_encryption(b, spec), **({"FifoQueue": True} if spec.fifo else {})}
    dlq = sqs.Queue(f"{name}Dlq", MessageRetentionPeriod=spec.dead_letter.retention,
                    **common)
    props: dict[str, Any] = {
        **common, "MessageRetentionPeriod": spec.retention,
        "VisibilityTimeout": _visibility(b, resource), "DelaySeconds": spec.delay,
        "RedrivePolicy": sqs.RedrivePolicy(
            deadLetterTargetArn=get_att(dlq.title, "Arn"),
            maxReceiveCount=spec.dead_letter.max_receives)}
    if spec.name is not None:
        props["QueueName"] = b.value(spec.name)
    queue = sqs.Queue(name, **props)
    for each in (queue, dlq):
        each.DeletionPolicy = each.UpdateReplacePolicy = "Retain"
    b.add(resource, queue, dlq, _policy(b, resource))


def _policy(b, resource) -> sqs.QueuePolicy:
    name = resource.logical_id
    statements = [_tls_only(name), _tls_only(f"{name}Dlq")]
    topics = sorted({t.logical_id for t in of_kind(b.stage, "topic")
                     for s in t.spec.subscriptions if names(s.queue, name)})
    for topic in topics:
        statements.append(Statement(
            Sid=f"{topic}Delivers", Effect=Allow,
            Principal=Principal("Service", ["sns.amazonaws.com"]),
            Action=[Action("sqs", "SendMessage")], Resource=[get_att(name, "Arn")],
            Condition=Condition(ArnEquals("aws:SourceArn", ref(topic)))))
    return sqs.QueuePolicy(f"{name}Policy", Queues=[ref(name), ref(f"{name}Dlq")],
                           PolicyDocument=document(statements))


def _tls_only(queue_id: str) -> Statement:
    # A Deny may name sqs:* safely: it only ever takes permissions away.
    return Statement(Sid=f"{queue_id}OnlyOverTls", Effect=Deny, Principal=Principal("*"),
                     Action=[Action("sqs", "*")], Resource=[get_att(queue_id, "Arn")],
                     Condition=Condition(Bool("aws:SecureTransport", False)))


KIND = Kind(
    name="queue",
    description="SQS queue (standard or FIFO): encrypted, TLS only, dead-letter queue "
                "after max_receives, visibility 6 × its consumer's timeout, retained",
    spec=QueueSpec,
    build=build,
    attributes=frozenset({"Arn", "QueueName", "QueueUrl"}),
    parts={"Dlq": frozenset({"Arn", "QueueName", "QueueUrl"}), "Policy": frozenset()},
    service="sqs",
    access_levels={
        "send": ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"),
        "consume": ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"),
    },
    data_holding=True,
    waivers=tuple(Waiver("CKV_AWS_27", part, "Encrypted at rest by SQS-managed keys "
                         "(SSE-SQS), which checkov does not count; AWS's managed KMS key "
                         "for SQS would stop SNS and EventBridge delivering to it; set "
                         "kms_key for a customer key", unless="kms_key")
                  for part in ("", "Dlq")),
)
