"""`rest_api`: an API Gateway REST API (v1) with Lambda proxy methods and API keys.

Each method is a Lambda proxy integration with an invoke permission scoped to that method
and path. The deployment's logical id carries a hash of the API's shape, so any change
to resources or methods creates a new deployment and the stage moves to it. Methods may
require an API key; the key is bound to a usage plan (throttling and a quota) on the
stage. The stage writes JSON access logs to its own (retained) log group and X-Ray
traces; API Gateway sends those itself, so no role needs X-Ray permissions.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from troposphere import apigateway as v1
from troposphere import awslambda, iam

from ..awsparts import log_group, log_key_field
from ..cfn import get_att, pascal, ref, sub
from ..iam import allow, assume_role, document
from ..spec import Bool, Int, MapOf, Str, Struct, Value, field
from . import Kind, Waiver
from .http_api import ACCESS_LOG_FORMAT

# Segments may be path parameters ({id}, or {proxy+} last); a trailing slash is allowed
# and dropped, as API Gateway routes /customers/ to /customers.
PATH = Str(r"(/([A-Za-z0-9_.-]+|\{[A-Za-z0-9_]+\}))*(/\{[A-Za-z0-9_]+\+\})?/?",
           "a path such as /customers/{id}")
METHOD = Str(choices=("GET", "POST", "PUT", "PATCH", "DELETE"))
LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
               "logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:GetLogEvents",
               "logs:PutLogEvents")


@dataclass(frozen=True)
class ThrottleSpec:
    rate: int = field(Int(1, 10000), "steady requests per second")
    burst: int = field(Int(1, 5000), "burst requests")


@dataclass(frozen=True)
class MethodSpec:
    function: Any = field(Value(), "ARN of the Lambda function serving the method")
    api_key: bool = field(Bool(), "callers must send a valid x-api-key header", True)
    throttle: Any = field(Struct(ThrottleSpec, "throttle"), "this method's own "
                          "throttling (default: the usage plan's)", None)


@dataclass(frozen=True)
class UsagePlanSpec:
    rate: int = field(Int(1, 10000), "steady requests per second", 10)
    burst: int = field(Int(1, 5000), "burst requests", 20)
    quota: int = field(Int(1, 100_000_000), "requests per period", 10000)
    period: str = field(Str(choices=("DAY", "WEEK", "MONTH")), "the quota period", "DAY")


@dataclass(frozen=True)
class RestApiSpec:
    paths: dict = field(MapOf(MapOf(Struct(MethodSpec, "a method"), METHOD, 1), PATH, 1),
                        "path → method → {function, api_key}")
    stage: str = field(Str(r"[A-Za-z0-9_-]{1,128}", "a stage name"), "the stage name")
    name: Any = field(Value(), "the API name (default: <stack>-<logical id>)", None)
    usage_plan: Any = field(Struct(UsagePlanSpec, "usage_plan"), "throttling and quota "
                                                                 "for API key callers",
                            UsagePlanSpec())
    log_retention: int = field(Int(1, 3653), "days the access log group keeps logs", 30)
    log_key: Any = log_key_field()
    account_log_role: bool = field(Bool(), "set the region's API Gateway CloudWatch role "
                                           "(needed once per account and region for "
                                           "access logs; retained)", True)

    def validate(self, at, node) -> None:
        paths = [_clean(p) for p in self.paths]
        for path in {p for p in paths if paths.count(p) > 1}:
            at.key("paths", node.value_marks["paths"]).error(
                f"{path} is written twice (with and without a trailing slash)")


def _clean(path: str) -> str:
    return path.rstrip("/") or "/"


def _arn_path(path: str) -> str:
    """The path as an execute-api ARN names it: each parameter is `*`."""
    return re.sub(r"\{[^}]+\}", "*", path)


def _segments(paths: dict) -> dict[str, tuple[str, str | None]]:
    """Every path prefix → (its last segment, its parent path or None for the root)."""
    found: dict[str, tuple[str, str | None]] = {}
    for path in sorted(_clean(p) for p in paths):
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/" + "/".join(parts[:depth])
            parent = "/" + "/".join(parts[:depth - 1]) if depth > 1 else None
            found.setdefault(prefix, (parts[depth - 1], parent))
    return found


def _id(path: str) -> str:
    return "".join(pascal(p) for p in re.split(r"[/{}.]+", path) if p)


def api_name(b, resource) -> Any:
    """The API's name (its metrics' ApiName dimension): given, or <stack>-<logical id>."""
    spec: RestApiSpec = resource.spec
    return b.value(spec.name) if spec.name is not None \
        else sub(f"${{AWS::StackName}}-{resource.logical_id}")


def build(b, resource) -> None:
    spec: RestApiSpec = resource.spec
    name = resource.logical_id
    api = v1.RestApi(name, Name=api_name(b, resource),
                     EndpointConfiguration=v1.EndpointConfiguration(Types=["REGIONAL"]))
    made: list = [api]
    path_ids = {}
    for path, (segment, parent) in _segments(spec.paths).items():
        path_ids[path] = f"{name}{_id(path)}"
        made.append(v1.Resource(path_ids[path], RestApiId=ref(name), PathPart=segment,
                                ParentId=ref(path_ids[parent]) if parent
                                else get_att(name, "RootResourceId")))
    methods = []
    for written, verbs in sorted(spec.paths.items()):
        path = _clean(written)
        for verb, method in sorted(verbs.items()):
            node = resource.node["paths"][written][verb]
            b.function_arn(method.function, node.value_marks.get("function"),
                           f"resources.{name}.paths.{written}.{verb}.function")
            made += _method(b, name, path, path_ids[path], verb, method)
            methods.append(f"{name}{_id(path)}{pascal(verb.lower())}")
    made += _stage(b, spec, name, methods)
    b.add(resource, *made)


def _method(b, api: str, path: str, path_id: str, verb: str, method: MethodSpec) -> list:
    function = b.value(method.function)
    logical = f"{path_id}{pascal(verb.lower())}"
    uri = sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
              "functions/${Function}/invocations", Function=function)
    parameters = {f"method.request.path.{p.rstrip('+')}": True
                  for p in re.findall(r"\{([^}]+)\}", path)}
    return [
        v1.Method(logical, RestApiId=ref(api), ResourceId=ref(path_id), HttpMethod=verb,
                  AuthorizationType="NONE", ApiKeyRequired=method.api_key,
                  **({"RequestParameters": parameters} if parameters else {}),
                  Integration=v1.Integration(Type="AWS_PROXY", IntegrationHttpMethod="POST",
                                             Uri=uri)),
        awslambda.Permission(f"{logical}Permission", Action="lambda:InvokeFunction",
                             FunctionName=function, Principal="apigateway.amazonaws.com",
                             SourceArn=sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                                           f"${{AWS::AccountId}}:${{{api}}}/*/{verb}{_arn_path(path)}")),
    ]


def _shape_hash(spec: RestApiSpec, b) -> str:
    """Changes whenever paths, methods or their functions change: a new deployment."""
    shape = {path: {verb: [json.dumps(b.value(m.function), default=lambda o: o.to_dict(),
                                      sort_keys=True), m.api_key]
                    for verb, m in sorted(verbs.items())}
             for path, verbs in sorted(spec.paths.items())}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:10]


def _stage(b, spec: RestApiSpec, api: str, methods: list[str]) -> list:
    logs = log_group(f"{api}LogGroup", spec.log_retention, b.value(spec.log_key))
    deployment = v1.Deployment(f"{api}Deployment{_shape_hash(spec, b)}", RestApiId=ref(api),
                               Description="methods: " + ", ".join(methods))
    deployment.DependsOn = methods
    stage = v1.Stage(f"{api}Stage", RestApiId=ref(api), StageName=spec.stage,
                     DeploymentId=ref(deployment.title), TracingEnabled=True,
                     AccessLogSetting=v1.AccessLogSetting(
                         DestinationArn=get_att(logs.title, "Arn"), Format=ACCESS_LOG_FORMAT),
                     MethodSettings=[v1.MethodSetting(
                         HttpMethod="*", ResourcePath="/*", MetricsEnabled=True,
                         ThrottlingRateLimit=spec.usage_plan.rate,
                         ThrottlingBurstLimit=spec.usage_plan.burst)] + _throttles(spec))
    plan = spec.usage_plan
    key = v1.ApiKey(f"{api}Key", Enabled=True, Description=sub(f"${{AWS::StackName}} {api}"))
    usage = v1.UsagePlan(f"{api}UsagePlan", ApiStages=[v1.ApiStage(ApiId=ref(api),
                                                                   Stage=ref(stage.title))],
                         Throttle=v1.ThrottleSettings(RateLimit=plan.rate,
                                                      BurstLimit=plan.burst),
                         Quota=v1.QuotaSettings(Limit=plan.quota, Period=plan.period))
    usage_key = v1.UsagePlanKey(f"{api}UsagePlanKey", KeyId=ref(key.title), KeyType="API_KEY",
                                UsagePlanId=ref(usage.title))
    made = [deployment, stage, logs, key, usage, usage_key]
    if spec.account_log_role:
        made += _account_logging(api, stage)
    return made


def _throttles(spec: RestApiSpec) -> list:
    """Per-method settings; their resource path is / then the path with each / as ~1."""
    return [v1.MethodSetting(HttpMethod=verb, ResourcePath="/" + _clean(path).replace("/", "~1"),
                             MetricsEnabled=True, ThrottlingRateLimit=m.throttle.rate,
                             ThrottlingBurstLimit=m.throttle.burst)
            for path, verbs in sorted(spec.paths.items())
            for verb, m in sorted(verbs.items()) if m.throttle]


def _account_logging(api: str, stage: v1.Stage) -> list:
    role = iam.Role(f"{api}CloudWatchRole", AssumeRolePolicyDocument=assume_role(
        "apigateway.amazonaws.com"), Policies=[iam.Policy(
            PolicyName="PushAccessLogs", PolicyDocument=document([allow(
                list(LOG_ACTIONS), [sub("arn:${AWS::Partition}:logs:${AWS::Region}:"
                                        "${AWS::AccountId}:log-group:*")])]))])
    account = v1.Account(f"{api}Account", CloudWatchRoleArn=get_att(role.title, "Arn"))
    for item in (role, account):
        item.DeletionPolicy = item.UpdateReplacePolicy = "Retain"
    stage.DependsOn = [account.title]
    return [role, account]


KIND = Kind(
    name="rest_api",
    description="API Gateway REST API: Lambda proxy methods, API keys with a usage plan, "
                "access logs, redeployed on change",
    spec=RestApiSpec,
    build=build,
    attributes=frozenset({"RootResourceId", "RestApiId"}),
    parts={"Stage": frozenset(), "Key": frozenset({"APIKeyId"}),
           "LogGroup": frozenset({"Arn"}), "UsagePlan": frozenset({"Id"})},
    waivers=(
        Waiver("CKV_AWS_120", "Stage", "No stage cache: its Lambda proxy methods answer "
               "each caller, and a cache (billed by the hour) could serve one caller's "
               "answer to another"),
        Waiver("CKV_AWS_158", "LogGroup", "Access log group encrypted by CloudWatch Logs' "
               "own keys; set log_key to use a customer key (the customers app does)",
               unless="log_key"),
    ),
)
