"""A function's triggers (`events:`): what invokes it, wired whole and least privilege.

Each trigger becomes the resource that delivers events (an event source mapping, a
subscription, a schedule, a rule) plus exactly the permission it needs: the actions
Lambda's poller uses on that queue or stream (granted to the function's role, since
Lambda polls as the function), an invoke permission limited to that topic or rule, or a
schedule's own role that may invoke only this function. Nothing else is granted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from awacs.aws import Action, Allow, Condition, Principal, Statement, StringEquals
from troposphere import awslambda, events, iam, scheduler, sns

from .cfn import get_att, ref, sub
from .iam import allow, document
from .spec import Anything, Bool, Int, ListOf, MapOf, Str, Struct, Value, field

SOURCES = ("queue", "stream", "schedule", "topic", "bucket", "rule")
# The options each source takes (besides itself).
OPTIONS = {
    "queue": {"batch_size", "window", "partial_failures", "filter", "enabled"},
    "stream": {"batch_size", "window", "partial_failures", "filter", "enabled",
               "starting_position", "bisect", "retries", "on_failure"},
    "schedule": {"time_zone", "retries", "dead_letter", "input", "enabled"},
    "topic": {"filter"},
    "bucket": {"on", "prefix", "suffix", "enabled"},
    "rule": {"bus", "input", "enabled"},
}
QUEUE_POLLING = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
STREAM_POLLING = ("dynamodb:DescribeStream", "dynamodb:GetRecords",
                  "dynamodb:GetShardIterator", "dynamodb:ListStreams")
DELIVER = {"queue": "sqs:SendMessage", "topic": "sns:Publish",
           "function": "lambda:InvokeFunction"}
BUCKET_EVENTS = {"created": "Object Created", "deleted": "Object Deleted"}


@dataclass(frozen=True)
class Event:
    """One trigger: exactly one source, and that source's options."""

    queue: Any = field(Value(), "a queue's ARN (!GetAtt Q.Arn): Lambda polls it", None)
    stream: Any = field(Value(), "a table's stream ARN (!GetAtt T.StreamArn)", None)
    schedule: str = field(Str(r"(rate|cron|at)\(.+\)", "rate(…), cron(…) or at(…)"),
                          "an EventBridge Scheduler expression, e.g. rate(1 hour)", None)
    topic: Any = field(Value(), "a topic's ARN (!Ref T): a subscription", None)
    bucket: Any = field(Value(), "a bucket's name (!Ref B): its object events through "
                                 "EventBridge", None)
    rule: dict = field(MapOf(Anything()), "an EventBridge event pattern", None)
    batch_size: int = field(Int(1, 10_000), "records per invocation", None)
    window: int = field(Int(0, 300), "seconds to gather a batch", None)
    partial_failures: bool = field(Bool(), "the function may report the failed records "
                                           "of a batch (only those are retried)", True)
    filter: dict = field(MapOf(Anything()), "only matching records or messages invoke it",
                         None)
    enabled: bool = field(Bool(), "deliver events", True)
    starting_position: str = field(Str(choices=("latest", "trim_horizon")),
                                   "where in the stream to start", "latest")
    bisect: bool = field(Bool(), "split a failing batch in two and retry each", True)
    retries: int = field(Int(0, 185), "retries of a failing batch or invocation", 3)
    on_failure: Any = field(Value(), "a queue (!GetAtt Q.Arn) or topic (!Ref T) "
                                     "receiving records that keep failing", None)
    time_zone: str = field(Str(r"[A-Za-z_]+(/[A-Za-z0-9_+-]+)*", "a tz name such as "
                               "Europe/Paris"), "time zone of a cron expression", None)
    dead_letter: Any = field(Value(), "a queue (!GetAtt Q.Arn) receiving events the "
                                      "schedule could not deliver", None)
    input: dict = field(MapOf(Anything()), "the event the function receives", None)
    on: tuple = field(ListOf(Str(choices=tuple(BUCKET_EVENTS)), 1), "object events",
                      ("created",))
    prefix: str = field(Str(max_len=1024), "only keys starting with this", None)
    suffix: str = field(Str(max_len=1024), "only keys ending with this", None)
    bus: Any = field(Value(), "the event bus (default: the account's default bus)", None)

    @property
    def source(self) -> str:
        return next(s for s in SOURCES if getattr(self, s) is not None)

    def validate(self, at, node) -> None:
        given = [s for s in SOURCES if getattr(self, s) is not None]
        if len(given) != 1:
            return at.error(f"a trigger names exactly one of {', '.join(SOURCES)}; you "
                            f"gave {', '.join(given) or 'none'}")
        for key in node:
            if key not in OPTIONS[given[0]] and key != given[0]:
                at.key(key, node.key_marks[key]).error(
                    f"'{key}' is not an option of a {given[0]} trigger; its options are "
                    f"{', '.join(sorted(OPTIONS[given[0]]))}")
        return None


EVENTS = MapOf(Struct(Event, "a trigger"), Str(r"[A-Z][A-Za-z0-9]{0,40}",
                                               "a name in PascalCase"))


def build_events(b, resource, events_: dict) -> tuple[list, list]:
    """(resources, statements for the function's role) of a function's triggers."""
    made, statements = [], []
    for name, event in events_.items():
        at = f"resources.{resource.logical_id}.events.{name}"
        builder = globals()[f"_{event.source}"]
        more, grants = builder(b, resource.logical_id, f"{resource.logical_id}{name}",
                               event, at)
        made += more
        statements += grants
    return made, statements


def _expect(b, resource, value: Any, kinds: tuple[str, ...], at: str) -> str | None:
    """The kind a value points at, when it is one of `kinds` (else a located error)."""
    kind = b.target_kind(value)
    if kind is not None and kind.name not in kinds:
        b.error(resource.mark, at, f"expected a {' or '.join(kinds)}, but this names a "
                f"{kind.name}")
        return None
    return kind.name if kind else None


def _mapping(b, function: str, logical_id: str, event: Event, arn: Any) -> Any:
    props: dict[str, Any] = {"EventSourceArn": arn, "FunctionName": ref(function),
                             "Enabled": event.enabled}
    if event.batch_size is not None:
        props["BatchSize"] = event.batch_size
    if event.window is not None:
        props["MaximumBatchingWindowInSeconds"] = event.window
    if event.partial_failures:
        props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if event.filter:
        props["FilterCriteria"] = awslambda.FilterCriteria(Filters=[awslambda.Filter(
            Pattern=json.dumps(b.value(event.filter), sort_keys=True))])
    return awslambda.EventSourceMapping(logical_id, **props)


def _queue(b, function, logical_id, event: Event, at: str):
    queue = b.target_resource(event.queue)
    timeout = b.stage.resources[function].spec.timeout
    # A queue of another stage cannot see its consumer: check its timeout from here.
    if queue is not None and queue.kind.name == "queue" and \
            (queue.spec.visibility_timeout or 30) < timeout:
        b.error(b.stage.resources[function].mark, at, f"the queue's visibility timeout "
                f"({queue.spec.visibility_timeout or 30}s) is shorter than this function's "
                f"timeout ({timeout}s): Lambda refuses the trigger; give the queue "
                f"visibility_timeout: {6 * timeout}")
    arn = b.value(event.queue)
    return [_mapping(b, function, logical_id, event, arn)], [allow(list(QUEUE_POLLING),
                                                                    [arn])]


def _stream(b, function, logical_id, event: Event, at: str):
    arn = b.value(event.stream)
    mapping = _mapping(b, function, logical_id, event, arn)
    mapping.StartingPosition = event.starting_position.upper()
    mapping.BisectBatchOnFunctionError = event.bisect
    mapping.MaximumRetryAttempts = event.retries
    statements = [allow(list(STREAM_POLLING), [arn])]
    if event.on_failure is not None:
        target = b.value(event.on_failure)
        kind = _expect(b, b.stage.resources[function], event.on_failure,
                       ("queue", "topic"), at + ".on_failure")
        mapping.DestinationConfig = awslambda.DestinationConfig(
            OnFailure=awslambda.OnFailure(Destination=target))
        action = DELIVER.get(kind or "queue", "sqs:SendMessage")
        statements.append(allow([action], [target]))
    return [mapping], statements


def _topic(b, function, logical_id, event: Event, at: str):
    topic = b.value(event.topic)
    props: dict[str, Any] = {"TopicArn": topic, "Protocol": "lambda",
                             "Endpoint": get_att(function, "Arn")}
    if event.filter:
        props["FilterPolicy"] = b.value(event.filter)
    return [sns.SubscriptionResource(logical_id, **props),
            _permission(function, logical_id, "sns.amazonaws.com", topic)], []


def _rule(b, function, logical_id, event: Event, at: str):
    return _event_rule(b, function, logical_id, event, b.value(event.rule)), []


def _bucket(b, function, logical_id, event: Event, at: str):
    detail: dict[str, Any] = {"bucket": {"name": [b.value(event.bucket)]}}
    if event.prefix or event.suffix:
        key = f"{event.prefix or ''}*{event.suffix or ''}"
        detail["object"] = {"key": [{"wildcard": key}]}
    pattern = {"source": ["aws.s3"], "detail-type": [BUCKET_EVENTS[e] for e in event.on],
               "detail": detail}
    return _event_rule(b, function, logical_id, event, pattern), []


def _event_rule(b, function, logical_id, event: Event, pattern: dict) -> list:
    props: dict[str, Any] = {"EventPattern": pattern,
                             "State": "ENABLED" if event.enabled else "DISABLED",
                             "Targets": [events.Target(Arn=get_att(function, "Arn"),
                                                       Id="Function")]}
    if event.input:
        props["Targets"][0].Input = json.dumps(b.value(event.input), sort_keys=True)
    if event.bus is not None:
        props["EventBusName"] = b.value(event.bus)
    return [events.Rule(logical_id, **props),
            _permission(function, logical_id, "events.amazonaws.com",
                        get_att(logical_id, "Arn"))]


def _permission(function: str, source: str, service: str, arn: Any) -> Any:
    """Only this topic or rule may invoke the function."""
    return awslambda.Permission(f"{source}Permission", Action="lambda:InvokeFunction",
                                FunctionName=ref(function), Principal=service,
                                SourceArn=arn)


def _schedule(b, function, logical_id, event: Event, at: str):
    role = f"{logical_id}Role"
    grants = [allow(["lambda:InvokeFunction"], [get_att(function, "Arn")])]
    target: dict[str, Any] = {
        "Arn": get_att(function, "Arn"), "RoleArn": get_att(role, "Arn"),
        "RetryPolicy": scheduler.RetryPolicy(MaximumRetryAttempts=event.retries)}
    if event.dead_letter is not None:
        _expect(b, b.stage.resources[function], event.dead_letter, ("queue",),
                at + ".dead_letter")
        target["DeadLetterConfig"] = scheduler.DeadLetterConfig(
            Arn=b.value(event.dead_letter))
        grants.append(allow(["sqs:SendMessage"], [b.value(event.dead_letter)]))
    if event.input:
        target["Input"] = json.dumps(b.value(event.input), sort_keys=True)
    props: dict[str, Any] = {
        "ScheduleExpression": event.schedule,
        "FlexibleTimeWindow": scheduler.FlexibleTimeWindow(Mode="OFF"),
        "State": "ENABLED" if event.enabled else "DISABLED",
        "Target": scheduler.Target(**target)}
    if event.time_zone:
        props["ScheduleExpressionTimezone"] = event.time_zone
    return [scheduler.Schedule(logical_id, **props), _scheduler_role(role, grants)], []


def _scheduler_role(role: str, grants: list) -> iam.Role:
    """A role only EventBridge Scheduler of this account may assume."""
    trust = document([Statement(
        Effect=Allow, Principal=Principal("Service", ["scheduler.amazonaws.com"]),
        Action=[Action("sts", "AssumeRole")],
        Condition=Condition(StringEquals("aws:SourceAccount", sub("${AWS::AccountId}"))))])
    return iam.Role(role, AssumeRolePolicyDocument=trust, Policies=[iam.Policy(
        PolicyName="InvokeItsFunction", PolicyDocument=document(grants))])
