"""`topic`: an SNS topic — KMS-encrypted, TLS only, with its subscriptions.

Encrypted with SNS's AWS-managed key unless `kms_key` names another (a service that
publishes itself, like CloudWatch alarms, needs a customer key whose policy lets it: see
`kms_key.services`). Each subscription is wired whole: a queue of the same stage gets
raw delivery and a policy statement allowing exactly this topic (written by the queue,
whose one policy it is), a function gets the invoke permission for this topic only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Action, Bool, Condition, Deny, Principal, Statement
from troposphere import awslambda, sns

from ..cfn import ref
from ..iam import document
from ..links import target_id
from ..spec import Anything, ListOf, MapOf, Str, Struct, Value, field
from ..spec import Bool as BoolType
from . import Kind

AWS_MANAGED_KEY = "alias/aws/sns"
TARGETS = ("queue", "function", "email", "https")


@dataclass(frozen=True)
class Subscription:
    queue: Any = field(Value(), "a queue of this stage: !GetAtt Q.Arn", None)
    function: Any = field(Value(), "a function's ARN: !GetAtt F.Arn or !Output …", None)
    email: str = field(Str(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an e-mail address"),
                       "an address (it must confirm the subscription)", None)
    https: str = field(Str(r"https://\S+", "an https:// URL"), "an HTTPS endpoint", None)
    filter: dict = field(MapOf(Anything()), "SNS filter policy: only matching messages "
                                            "are delivered", None)
    filter_on: str = field(Str(choices=("attributes", "body")), "what the filter policy "
                                                                "matches", "attributes")
    raw: bool = field(BoolType(), "deliver the message as published, without SNS's "
                                  "envelope (queues and https)", True)

    def validate(self, at, node) -> None:
        given = [t for t in TARGETS if getattr(self, t) is not None]
        if len(given) != 1:
            at.error(f"a subscription names exactly one of {', '.join(TARGETS)}; "
                     f"you gave {', '.join(given) or 'none'}")
        elif self.queue is not None and target_id(self.queue) is None:
            at.key("queue", node.value_marks["queue"]).error(
                "name a queue of this stage (!GetAtt Q.Arn): its policy must allow the "
                "topic, and a queue's one policy is written by the queue")


@dataclass(frozen=True)
class TopicSpec:
    name: Any = field(Value(), "the topic name (default: generated)", None)
    fifo: bool = field(BoolType(), "first-in-first-out (names end in .fifo)", False)
    kms_key: Any = field(Value(), "the KMS key encrypting messages (default: SNS's "
                                  "AWS-managed key, alias/aws/sns)", None)
    subscriptions: tuple = field(ListOf(Struct(Subscription, "a subscription")),
                                 "where messages go", ())


def build(b, resource) -> None:
    spec: TopicSpec = resource.spec
    name = resource.logical_id
    props: dict[str, Any] = {"KmsMasterKeyId": AWS_MANAGED_KEY if spec.kms_key is None
                             else b.value(spec.kms_key)}
    if spec.fifo:
        props["FifoTopic"] = True
    if spec.name is not None:
        props["TopicName"] = b.value(spec.name)
    tls_only = Statement(Sid="PublishOnlyOverTls", Effect=Deny, Principal=Principal("*"),
                         Action=[Action("sns", "Publish")], Resource=[ref(name)],
                         Condition=Condition(Bool("aws:SecureTransport", False)))
    b.add(resource, sns.Topic(name, **props),
          sns.TopicPolicy(f"{name}Policy", Topics=[ref(name)],
                          PolicyDocument=document([tls_only])))
    for index, subscription in enumerate(spec.subscriptions):
        b.add(resource, *_subscription(b, name, index, subscription))


def _subscription(b, topic: str, index: int, s: Subscription) -> list:
    protocol = next(t for t in TARGETS if getattr(s, t) is not None)
    endpoint = getattr(s, protocol)
    suffix = target_id(endpoint) or f"{protocol.capitalize()}{index + 1}"
    props: dict[str, Any] = {"TopicArn": ref(topic), "Endpoint": b.value(endpoint),
                             "Protocol": {"queue": "sqs", "function": "lambda"}.get(
                                 protocol, protocol)}
    if s.raw and protocol in ("queue", "https"):
        props["RawMessageDelivery"] = True
    if s.filter:
        props["FilterPolicy"] = b.value(s.filter)
        props["FilterPolicyScope"] = "MessageAttributes" if s.filter_on == "attributes" \
            else "MessageBody"
    made = [sns.SubscriptionResource(f"{topic}To{suffix}", **props)]
    if protocol == "function":
        made.append(awslambda.Permission(
            f"{topic}Invokes{suffix}", Action="lambda:InvokeFunction",
            FunctionName=b.value(endpoint), Principal="sns.amazonaws.com",
            SourceArn=ref(topic)))
    return made


KIND = Kind(
    name="topic",
    description="SNS topic: KMS-encrypted, TLS only; subscriptions to queues (policy "
                "generated), functions (permission generated), e-mail, https",
    spec=TopicSpec,
    build=build,
    attributes=frozenset({"TopicArn", "TopicName"}),
    parts={"Policy": frozenset()},
    service="sns",
    access_levels={"publish": ("sns:Publish",)},
)
