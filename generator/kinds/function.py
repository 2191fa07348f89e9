"""`function`: a Lambda (Python or Node.js) with its own role, log group, X-Ray tracing,
least-privilege access, and the triggers that invoke it (see triggers.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import awslambda, iam

from ..awsparts import log_group, log_key_field
from ..cfn import Intrinsic, get_att, pascal, ref
from ..iam import ACCESS_LIST, allow, assume_role, document, grants, xray_writes
from ..spec import Bool, Int, ListOf, MapOf, Str, Value, field
from ..triggers import DELIVER, EVENTS, build_events
from . import Kind, Waiver

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                  1827, 2192, 2557, 2922, 3288, 3653)
RUNTIMES = ("python3.11", "python3.12", "python3.13", "python3.14", "nodejs20.x",
            "nodejs22.x")
FOLDER = Str(r"[a-z][a-z0-9_]*", "a folder name under lambda_code/ (lower case, _)")


class _Retention(Int):
    def __init__(self) -> None:
        super().__init__(1, 3653)
        self.expected = "a number of days CloudWatch allows (1, 3, 5, 7, 14, 30, 60, " \
                        "90, 120, 150, 180, 365, …, 3653)"

    def check(self, value, at):
        return value if value in RETENTION_DAYS and not isinstance(value, bool) \
            else self.fail(value, at)


@dataclass(frozen=True)
class FunctionSpec:
    code: str = field(FOLDER, "the handler's folder under lambda_code/")
    handler: str = field(Str(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*", "module.function"),
                         "the handler, as module.function", "handler.handler")
    runtime: str = field(Str(choices=RUNTIMES), "the runtime (Node.js: the folder is "
                                                "zipped as is, handler file.function)",
                         "python3.12")
    memory: int = field(Int(128, 10240), "memory in MB", 256)
    timeout: int = field(Int(1, 900), "seconds before an invocation is stopped", 10)
    architecture: str = field(Str(choices=("arm64", "x86_64")), "processor", "arm64")
    description: str = field(Str(max_len=256), "what the function does", None)
    environment: dict = field(MapOf(Value(), Str(r"[A-Za-z][A-Za-z0-9_]*",
                                                 "an environment variable name")),
                              "environment variables (values may be intrinsics)", None)
    access: tuple = field(ACCESS_LIST, "what the function may do to which resources", ())
    include: tuple = field(ListOf(FOLDER), "shared folders under lambda_code/ packaged "
                                           "beside the handler, as Python packages", ())
    log_retention: int = field(_Retention(), "days its log group keeps logs", 30)
    log_key: Any = log_key_field()
    tracing: bool = field(Bool(), "send X-Ray traces (grants only X-Ray's two write "
                                  "actions)", True)
    reserved_concurrency: int = field(Int(0, 1000), "concurrent executions reserved "
                                                    "(and capped)", None)
    ssm_environment: dict = field(MapOf(Value(), Str(r"[A-Za-z][A-Za-z0-9_]*",
                                                     "an environment variable name")),
                                  "environment variables whose values CloudFormation reads "
                                  "from SSM parameters, named here (!Output or a literal "
                                  "name)", None)
    events: dict = field(EVENTS, "what invokes it: {Name: {queue|stream|schedule|topic|"
                                 "bucket|rule: …, options}}, each with exactly the "
                                 "permission it needs", None)
    on_failure: Any = field(Value(), "a queue (!GetAtt Q.Arn) or topic (!Ref T) receiving "
                                     "asynchronous invocations that failed every retry", None)
    async_retries: int = field(Int(0, 2), "retries of a failed asynchronous invocation",
                               None)
    role: Any = field(Value(), "ARN of an existing role to run as (e.g. one a KMS key "
                               "policy names); its access is attached to that role "
                               "(default: a role of its own)", None)


def build(b, resource) -> None:
    spec: FunctionSpec = resource.spec
    name = resource.logical_id
    logs = log_group(f"{name}LogGroup", spec.log_retention, b.value(spec.log_key))
    statements = [allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                        [get_att(logs.title, "Arn")])]
    statements += grants(b, resource, spec.access)
    triggers, trigger_grants = build_events(b, resource, spec.events or {})
    statements += trigger_grants
    failure = _on_failure(b, resource)
    if failure:
        statements.append(allow([failure[1]], [failure[0].DestinationConfig.OnFailure.
                                               Destination]))
    if spec.tracing:
        statements.append(xray_writes())
    policy = document(statements)
    if spec.role is None:
        role_arn = get_att(f"{name}Role", "Arn")
        access = iam.Role(f"{name}Role", AssumeRolePolicyDocument=assume_role(
            "lambda.amazonaws.com"), Policies=[iam.Policy(PolicyName=f"{name}Access",
                                                          PolicyDocument=policy)])
    else:
        role_arn = b.value(spec.role)
        access = iam.PolicyType(f"{name}RolePolicy", PolicyName=f"{name}Access",
                                PolicyDocument=policy, Roles=[Intrinsic(
                                    {"Fn::Select": [1, {"Fn::Split": ["role/", role_arn]}]})])
    function = awslambda.Function(name, **_properties(b, resource, spec, role_arn))
    if spec.role is not None:
        function.DependsOn = [access.title]
    b.add(resource, function, access, logs, *triggers, *([failure[0]] if failure else []))


def _on_failure(b, resource) -> tuple[Any, str] | None:
    """The destination of asynchronous invocations that failed, and the action to send."""
    spec: FunctionSpec = resource.spec
    if spec.on_failure is None:
        return None
    kind = b.target_kind(spec.on_failure)
    if kind is not None and kind.name not in ("queue", "topic"):
        b.error(resource.node.value_marks["on_failure"],
                f"resources.{resource.logical_id}.on_failure",
                f"expected a queue or a topic, but this names a {kind.name}")
    config = awslambda.EventInvokeConfig(
        f"{resource.logical_id}Async", FunctionName=ref(resource.logical_id),
        Qualifier="$LATEST", DestinationConfig=awslambda.DestinationConfig(
            OnFailure=awslambda.OnFailure(Destination=b.value(spec.on_failure))))
    if spec.async_retries is not None:
        config.MaximumRetryAttempts = spec.async_retries
    return config, DELIVER.get(kind.name if kind else "queue", "sqs:SendMessage")


def _properties(b, resource, spec: FunctionSpec, role_arn: Any) -> dict[str, Any]:
    name = resource.logical_id
    props: dict[str, Any] = {
        "Architectures": [spec.architecture],
        "Code": awslambda.Code(S3Bucket=b.asset_bucket(),
                               S3Key=b.code(resource, spec.code, spec.include,
                                            spec.handler, spec.runtime)),
        "Handler": spec.handler, "MemorySize": spec.memory, "Runtime": spec.runtime,
        "Timeout": spec.timeout, "Role": role_arn,
        "LoggingConfig": awslambda.LoggingConfig(LogGroup=ref(f"{name}LogGroup")),
    }
    if spec.description:
        props["Description"] = spec.description
    if spec.tracing:
        props["TracingConfig"] = awslambda.TracingConfig(Mode="Active")
    variables = {k: b.value(v) for k, v in (spec.environment or {}).items()}
    for variable, parameter in (spec.ssm_environment or {}).items():
        variables[variable] = b.ssm_value(pascal(variable.lower()), parameter)
    if variables:
        props["Environment"] = awslambda.Environment(Variables=dict(sorted(variables.items())))
    if spec.reserved_concurrency is not None:
        props["ReservedConcurrentExecutions"] = spec.reserved_concurrency
    return props


KIND = Kind(
    name="function",
    description="Lambda function (Python or Node.js) with its own role, retained log group, "
                "X-Ray tracing, triggers (events:) and on_failure; IAM from declared access "
                "and its triggers",
    spec=FunctionSpec,
    build=build,
    attributes=frozenset({"Arn"}),
    parts={"Role": frozenset({"Arn", "RoleId"}), "LogGroup": frozenset({"Arn"})},
    service="lambda",
    access_levels={"invoke": ("lambda:InvokeFunction",)},
    waivers=(
        Waiver("CKV_AWS_117", "", "Not in a VPC: it calls only AWS APIs, signed and over "
               "TLS, and its role limits what it reaches; a VPC would add NAT or endpoints "
               "and protect nothing more"),
        Waiver("CKV_AWS_116", "", "No Lambda dead-letter queue: synchronous callers (API "
               "Gateway) get its errors back, queue and stream triggers keep failed records "
               "in their own dead-letter queue or on_failure, and on_failure (a Lambda "
               "destination, with the error attached) catches failed asynchronous calls"),
        Waiver("CKV_AWS_173", "", "Environment variables hold resource names, never "
               "secrets (those go to SSM SecureString); Lambda encrypts them at rest with "
               "an AWS-managed key"),
        Waiver("CKV_AWS_115", "", "No concurrency reserved: reserving fails on new "
               "accounts (limit 10) and its API's throttling caps the load; set "
               "reserved_concurrency to reserve", unless="reserved_concurrency"),
        Waiver("CKV_AWS_158", "LogGroup", "Log group encrypted by CloudWatch Logs' own "
               "keys; set log_key to use a customer key (the customers app does)",
               unless="log_key"),
    ),
)
