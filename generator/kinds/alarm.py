"""`alarm`: a CloudWatch alarm on a well-known metric of one of our kinds.

The metric is named the way a reader thinks of it (`errors` of a function, `oldest_age`
of a queue, `dead_letters` in a queue's built-in dead-letter queue, …); the namespace,
metric name, dimension and statistic come from the kind of the resource it watches (a
`!Ref` of this stage, so the dimension is exact). Actions go to topics; missing data
(no traffic) is not breaching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import cloudwatch

from ..cfn import get_att, ref
from ..links import target_id
from ..spec import Int, ListOf, Str, Value, field
from . import Kind
from .rest_api import api_name as rest_api_name

# kind → metric → (namespace, metric name, statistic, dimension name, dimension value)
METRICS: dict[str, dict[str, tuple]] = {
    "function": {
        "errors": ("AWS/Lambda", "Errors", "Sum", "FunctionName", ref),
        "throttles": ("AWS/Lambda", "Throttles", "Sum", "FunctionName", ref),
        "duration": ("AWS/Lambda", "Duration", "Maximum", "FunctionName", ref)},
    "queue": {
        "oldest_age": ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum",
                       "QueueName", lambda q: get_att(q, "QueueName")),
        "depth": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum",
                  "QueueName", lambda q: get_att(q, "QueueName")),
        "dead_letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum",
                         "QueueName", lambda q: get_att(f"{q}Dlq", "QueueName"))},
    "http_api": {"5xx": ("AWS/ApiGateway", "5xx", "Sum", "ApiId", ref)},
    # REST API metrics are named by the API's name, which the kind sets (see rest_api)
    "rest_api": {"5xx": ("AWS/ApiGateway", "5XXError", "Sum", "ApiName", None)},
    "table": {
        "read_throttles": ("AWS/DynamoDB", "ReadThrottleEvents", "Sum", "TableName", ref),
        "write_throttles": ("AWS/DynamoDB", "WriteThrottleEvents", "Sum", "TableName",
                            ref)},
    "state_machine": {
        "failed": ("AWS/States", "ExecutionsFailed", "Sum", "StateMachineArn", ref)},
}
ALL = sorted({m for metrics in METRICS.values() for m in metrics})


@dataclass(frozen=True)
class AlarmSpec:
    watch: Any = field(Value(), "the resource watched: !Ref of a function, queue, "
                                "http_api, table or state_machine of this stage")
    metric: str = field(Str(choices=tuple(ALL)), "which of its metrics (see `kinds alarm`)")
    threshold: int = field(Int(0, 10_000_000), "alarm when the statistic reaches this "
                                               "(milliseconds for duration, seconds for "
                                               "oldest_age)", 1)
    period: int = field(Int(60, 86_400), "seconds per datapoint (a multiple of 60)", 300)
    periods: int = field(Int(1, 100), "datapoints in a row that must breach", 1)
    actions: tuple = field(ListOf(Value(), 1), "topics told when it fires and when it "
                                               "recovers (!Ref T or !Output …)", ())
    description: str = field(Str(max_len=1024), "what it means and what to do", None)


def build(b, resource) -> None:
    spec: AlarmSpec = resource.spec
    path = f"resources.{resource.logical_id}"
    watched = target_id(spec.watch)
    target = b.stage.resources.get(watched) if watched else None
    metrics = METRICS.get(target.kind.name, {}) if target else {}
    if target is None or spec.metric not in metrics:
        known = ", ".join(f"{k}: {', '.join(m)}" for k, m in METRICS.items())
        b.error(resource.node.value_marks["metric" if target else "watch"], path,
                f"cannot watch '{spec.metric}' of this; name a resource of this stage "
                f"with !Ref, and one of its metrics ({known})")
        return
    namespace, metric, statistic, dimension, value = metrics[spec.metric]
    named = value(watched) if value else rest_api_name(b, target)
    props: dict[str, Any] = {
        "Namespace": namespace, "MetricName": metric, "Statistic": statistic,
        "Dimensions": [cloudwatch.MetricDimension(Name=dimension, Value=named)],
        "Threshold": spec.threshold, "Period": spec.period,
        "EvaluationPeriods": spec.periods,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [b.value(a) for a in spec.actions],
        "OKActions": [b.value(a) for a in spec.actions]}
    if spec.description:
        props["AlarmDescription"] = spec.description
    b.add(resource, cloudwatch.Alarm(resource.logical_id, **props))


KIND = Kind(
    name="alarm",
    description="CloudWatch alarm on a well-known metric (function errors, throttles, "
                "duration; queue age, depth, dead letters; API 5xx; table throttles; "
                "failed executions) telling topics",
    spec=AlarmSpec,
    build=build,
    attributes=frozenset({"Arn"}),
)
