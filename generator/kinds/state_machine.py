"""`state_machine`: Step Functions (standard or express) whose role is read from its
definition.

The definition is written inline in Amazon States Language; `!GetAtt`, `!Ref` and
`!Output` inside it become `DefinitionSubstitutions`. Its role may do exactly what its
Task states do: invoke the functions they call, send to the queues, publish to the
topics, and put/get/update/delete items of the tables they name. A Task whose target
cannot be read (a service the tool does not know, or a name computed at run time) is a
located error, so a role is never guessed. It logs to its own log group and is traced.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from troposphere import iam, stepfunctions

from ..awsparts import log_group, log_key_field
from ..cfn import Intrinsic, get_att, sub
from ..errors import BlueprintError
from ..iam import ACCESS_LIST, allow, assume_role, document, grants
from ..links import target_id
from ..refs import attributes_of, tags_in
from ..source import Map, Seq, Tag, load_file
from ..spec import Anything, Bool, Int, Str, field
from . import Kind, Waiver

TASKS = "arn:aws:states:::"
# Service integration → (parameter naming the target, IAM action).
INTEGRATIONS = {
    "lambda:invoke": ("FunctionName", "lambda:InvokeFunction"),
    "sqs:sendMessage": ("QueueUrl", "sqs:SendMessage"),
    "sns:publish": ("TopicArn", "sns:Publish"),
    "dynamodb:putItem": ("TableName", "dynamodb:PutItem"),
    "dynamodb:getItem": ("TableName", "dynamodb:GetItem"),
    "dynamodb:updateItem": ("TableName", "dynamodb:UpdateItem"),
    "dynamodb:deleteItem": ("TableName", "dynamodb:DeleteItem"),
}
# Vended-log delivery to CloudWatch Logs takes no resource ARN (AWS documents `*`).
LOG_DELIVERY = ("logs:CreateLogDelivery", "logs:DeleteLogDelivery",
                "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
                "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                "logs:UpdateLogDelivery")
XRAY = ("xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords",
        "xray:PutTraceSegments")


@dataclass(frozen=True)
class StateMachineSpec:
    definition: dict = field(Anything(), "the Amazon States Language definition "
                                         "(StartAt, States); intrinsics allowed", None)
    definition_file: str = field(Str(r"[A-Za-z0-9_][A-Za-z0-9_./-]*\.(json|ya?ml)",
                                     "a .json or .yaml file name"), "the definition in a "
                                 "file beside the stage files (JSON, or YAML in a "
                                 "subfolder); !Ref and !GetAtt of this stage allowed", None)
    type: str = field(Str(choices=("standard", "express")), "standard (durable, up to a "
                      "year) or express (fast, up to 5 minutes, synchronous starts)",
                      "standard")
    log_level: str = field(Str(choices=("ALL", "ERROR", "FATAL")), "what is logged",
                           "ERROR")
    log_retention: int = field(Int(1, 3653), "days its log group keeps logs", 30)
    log_key: Any = log_key_field()
    tracing: bool = field(Bool(), "send X-Ray traces", True)
    access: tuple = field(ACCESS_LIST, "more grants, beyond what its Tasks imply", ())

    def validate(self, at, node) -> None:
        if (self.definition is None) == (self.definition_file is None):
            at.error("give the definition inline (definition) or in a file "
                     "(definition_file), one of the two")
        elif self.definition is not None and not _is_asl(self.definition):
            at.key("definition", node.value_marks.get("definition")).error(
                "expected a mapping with StartAt and States (Amazon States Language)")


def _is_asl(value: Any) -> bool:
    return isinstance(value, Map) and "States" in value


def _tasks(value: Any):
    """Every Task state, however deep (Parallel branches, Map processors)."""
    if isinstance(value, Map):
        if value.get("Type") == "Task":
            yield value
        for item in value.values():
            yield from _tasks(item)
    elif isinstance(value, Seq):
        for item in value:
            yield from _tasks(item)


def _target(b, what: str, value: Any) -> Any:
    """The ARN a Task's target names: queues by URL and tables by name become ARNs."""
    if what in ("QueueUrl", "TableName"):
        logical_id = target_id(value)
        resource = b.stage.resources.get(logical_id) if logical_id else None
        if resource is None or resource.kind.name not in ("queue", "table"):
            return None
        return get_att(logical_id, "Arn")
    return b.value(value) if isinstance(value, Tag) else value


def definition(b, resource) -> Any:
    """The inline definition, or the file's, rendered like a stage and checked."""
    spec: StateMachineSpec = resource.spec
    if spec.definition is not None:
        return spec.definition
    shown = f"{os.path.dirname(b.stage.file)}/{spec.definition_file}"
    at = f"resources.{resource.logical_id}.definition_file"
    values = {**b.app.env.values, "env": b.app.env.name, "app": b.app.name,
              "region": b.app.env.region}
    try:
        loaded = load_file(b.root, shown, values)
    except BlueprintError as exc:
        for problem in exc.problems:
            b.error(problem.mark, at, problem.message)
        return None
    if not _is_asl(loaded):
        b.error(resource.node.value_marks["definition_file"], at,
                f"{shown} holds no Amazon States Language definition (StartAt, States)")
        return None
    known = attributes_of(b.stage)
    for tag in tags_in(loaded):
        if tag.name not in ("Ref", "GetAtt", "Sub") or \
                tag.name != "Sub" and target_id(tag) not in known:
            b.error(tag.mark, at, f"!{tag.name} {tag.value!r} in a definition file must "
                    f"name a resource of this stage ({', '.join(known)}) with !Ref or "
                    "!GetAtt; !Output belongs in the stage file, e.g. a function's "
                    "environment or an inline definition")
    return loaded


def derived(b, resource, asl: Any) -> list:
    """One statement per Task target, with the action its integration needs."""
    statements = []
    for task in _tasks(asl):
        target = task.get("Resource")
        params = task.get("Parameters") or task.get("Arguments") or {}
        if isinstance(target, Tag):          # a function ARN as the Task's Resource
            statements.append(allow(["lambda:InvokeFunction"], [b.value(target)]))
            continue
        integration = INTEGRATIONS.get(str(target).removeprefix(TASKS).split(".")[0])
        arn = integration and _target(b, integration[0], params.get(integration[0]))
        if not arn:
            b.error(task.mark if hasattr(task, "mark") else resource.mark,
                    f"resources.{resource.logical_id}.definition",
                    f"cannot tell what the Task with Resource {target!r} may do: name its "
                    "target with !GetAtt/!Ref/!Output (queues and tables of this stage by "
                    "!Ref); known integrations: " + ", ".join(INTEGRATIONS))
            continue
        arns = [arn, sub("${Function}:*", Function=arn)] \
            if integration[1].startswith("lambda") else [arn]
        statements.append(allow([integration[1]], arns))
    return statements


def _substituted(b, value: Any, found: dict) -> Any:
    """The definition with each intrinsic replaced by ${Sub<n>} (in reading order)."""
    if isinstance(value, Tag):
        name = f"Sub{len(found) + 1}"
        found[name] = b.value(value)
        return "${" + name + "}"
    if isinstance(value, dict):
        return {k: _substituted(b, v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(b, v, found) for v in value]
    return value


def build(b, resource) -> None:
    spec: StateMachineSpec = resource.spec
    name = resource.logical_id
    logs = log_group(f"{name}LogGroup", spec.log_retention, b.value(spec.log_key))
    asl = definition(b, resource)
    if asl is None:
        return
    statements = derived(b, resource, asl) + grants(b, resource, spec.access)
    statements.append(allow(list(LOG_DELIVERY), ["*"]))
    if spec.tracing:
        statements.append(allow(list(XRAY), ["*"]))
    role = iam.Role(f"{name}Role", AssumeRolePolicyDocument=assume_role(
        "states.amazonaws.com"), Policies=[iam.Policy(PolicyName=f"{name}Access",
                                                      PolicyDocument=document(statements))])
    found: dict = {}
    props: dict[str, Any] = {
        "Definition": _substituted(b, asl, found),
        "StateMachineType": spec.type.upper(), "RoleArn": get_att(role.title, "Arn"),
        "LoggingConfiguration": stepfunctions.LoggingConfiguration(
            Level=spec.log_level, IncludeExecutionData=spec.log_level == "ALL",
            Destinations=[stepfunctions.LogDestination(
                CloudWatchLogsLogGroup=stepfunctions.CloudWatchLogsLogGroup(
                    LogGroupArn=get_att(logs.title, "Arn")))]),
        "TracingConfiguration": stepfunctions.TracingConfiguration(Enabled=spec.tracing)}
    if found:
        props["DefinitionSubstitutions"] = found
    b.add(resource, stepfunctions.StateMachine(name, **props), role, logs)


def _executions(arn: Any, action: str) -> list:
    """Execution actions take an execution's ARN; the others the machine's."""
    if action not in ("states:DescribeExecution", "states:GetExecutionHistory"):
        return [arn]
    name = Intrinsic({"Fn::Select": [6, {"Fn::Split": [":", arn]}]})
    return [sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
                     "execution:${Name}:*", Name=name)]


KIND = Kind(
    name="state_machine",
    description="Step Functions state machine (standard or express): role derived from "
                "its Task states, logged to its own log group, traced",
    spec=StateMachineSpec,
    build=build,
    attributes=frozenset({"Arn", "Name"}),
    parts={"Role": frozenset({"Arn"}), "LogGroup": frozenset({"Arn"})},
    service="states",
    access_levels={"start": ("states:StartExecution", "states:StartSyncExecution"),
                   "read": ("states:DescribeExecution", "states:DescribeStateMachine",
                            "states:GetExecutionHistory", "states:ListExecutions")},
    access_arns=_executions,
    waivers=(Waiver("CKV_AWS_158", "LogGroup", "Log group encrypted by CloudWatch Logs' "
                    "own keys; set log_key to use a customer key", unless="log_key"),),
)
