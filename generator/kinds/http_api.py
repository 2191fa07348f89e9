"""`http_api`: an API Gateway HTTP API routing to Lambda functions.

Each route gets a Lambda proxy integration and an invoke permission scoped to exactly
that method and path; the stage auto-deploys and writes JSON access logs to its own log
group. The default execute-api endpoint is disabled unless asked for, so a custom
domain (with mutual TLS) is the only way in. A Lambda REQUEST authorizer, a JWT authorizer
and IAM (SigV4) authorization each guard the routes they name (the others stay open).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from troposphere import apigatewayv2 as v2
from troposphere import awslambda

from ..awsparts import log_group, log_key_field
from ..cfn import get_att, ref, sub
from ..spec import Bool, Int, ListOf, MapOf, Str, Struct, Value, field
from . import Kind, Waiver

ROUTE = Str(r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) /[A-Za-z0-9_/{}+.-]*",
            "a route key such as 'POST /apply'")
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
    "time": "$context.requestTime", "method": "$context.httpMethod",
    "path": "$context.path", "status": "$context.status",
    "latency": "$context.responseLatency", "error": "$context.integrationErrorMessage",
}, sort_keys=True)


@dataclass(frozen=True)
class CorsSpec:
    origins: tuple = field(ListOf(Value(), 1), "origins allowed to call the API, e.g. "
                                               "https://example.com")
    methods: tuple = field(ListOf(Str(choices=("GET", "POST", "PUT", "PATCH", "DELETE",
                                               "OPTIONS", "HEAD"))), "allowed methods",
                           ("GET", "POST"))
    headers: tuple = field(ListOf(Str()), "allowed request headers", ("content-type",))
    max_age: int = field(Int(0, 86400), "seconds a browser may cache a preflight", 300)


@dataclass(frozen=True)
class ThrottleSpec:
    rate: int = field(Int(1, 10000), "steady requests per second", 50)
    burst: int = field(Int(1, 5000), "burst requests", 100)


@dataclass(frozen=True)
class AuthorizerSpec:
    function: Any = field(Value(), "ARN of the Lambda REQUEST authorizer; it answers "
                                   "{\"isAuthorized\": true|false}")
    routes: tuple = field(ListOf(ROUTE, 1), "the route keys it guards; the others stay "
                                            "open")
    header: str = field(Str(r"[A-Za-z0-9-]{1,64}", "a header name"), "the request "
                        "header carrying the credential (missing: 401, function not "
                        "called)", "authorization")


@dataclass(frozen=True)
class JwtSpec:
    issuer: Any = field(Value(), "the token issuer URL (e.g. a Cognito user pool's)")
    audience: tuple = field(ListOf(Value(), 1), "accepted audiences (client ids)")
    routes: tuple = field(ListOf(ROUTE, 1), "the route keys it guards")
    scopes: tuple = field(ListOf(Str(r"\S+", "a scope")), "scopes a token must hold "
                                                          "(any of them)", ())
    header: str = field(Str(r"[A-Za-z0-9-]{1,64}", "a header name"), "the header "
                        "carrying the bearer token", "authorization")


@dataclass(frozen=True)
class HttpApiSpec:
    routes: dict = field(MapOf(Value(), ROUTE, 1), "route key → the ARN of the Lambda "
                                                   "function serving it")
    name: Any = field(Value(), "the API name (default: the logical id)", None)
    stage: str = field(Str(r"\$default|[A-Za-z0-9_-]{1,128}", "a stage name"),
                       "the stage name", "$default")
    cors: Any = field(Struct(CorsSpec, "cors"), "cross-origin access for browsers", None)
    throttle: Any = field(Struct(ThrottleSpec, "throttle"), "default route throttling",
                          ThrottleSpec())
    execute_api_endpoint: bool = field(Bool(), "keep the default execute-api URL "
                                               "reachable (off: only custom domains)", False)
    log_retention: int = field(Int(1, 3653), "days the access log group keeps logs", 30)
    log_key: Any = log_key_field()
    authorizer: Any = field(Struct(AuthorizerSpec, "authorizer"), "a Lambda authorizer "
                            "guarding some routes", None)
    jwt: Any = field(Struct(JwtSpec, "jwt"), "a JWT authorizer (OIDC/OAuth 2.0 tokens) "
                                             "guarding some routes", None)
    iam_routes: tuple = field(ListOf(ROUTE), "routes callers must sign with SigV4 (IAM "
                                             "authorization)", ())
    payload_format: str = field(Str(choices=("1.0", "2.0")), "the event format the "
                                "functions receive (1.0: REST API-like)", "2.0")

    def validate(self, at, node) -> None:
        guarded: dict[str, str] = {}
        for name in ("authorizer", "jwt", "iam_routes"):
            value = getattr(self, name)
            if not value:
                continue
            routes = value if name == "iam_routes" else value.routes
            seq = node[name] if name == "iam_routes" else node[name]["routes"]
            where = at.key(name, None) if name == "iam_routes" else \
                at.key(name, None).key("routes", None)
            for index, key in enumerate(routes):
                item = where.item(index, seq.item_marks[index])
                if key not in self.routes:
                    item.error(f"'{key}' is not a route of this API; its routes are "
                               f"{', '.join(self.routes)}")
                elif key in guarded:
                    item.error(f"'{key}' is already guarded by {guarded[key]}; a route "
                               "has one authorizer")
                guarded.setdefault(key, name)


def route_id(route_key: str) -> str:
    """'POST /apply' → 'PostApply' (a logical id fragment)."""
    words = re.split(r"[^A-Za-z0-9]+", route_key)
    return "".join(w[:1].upper() + w[1:].lower() for w in words if w)


def build(b, resource) -> None:
    spec: HttpApiSpec = resource.spec
    name = resource.logical_id
    api_props: dict[str, Any] = {
        "Name": b.value(spec.name) if spec.name is not None else sub(f"${{AWS::StackName}}-{name}"),
        "ProtocolType": "HTTP",
        "DisableExecuteApiEndpoint": not spec.execute_api_endpoint,
    }
    if spec.cors:
        api_props["CorsConfiguration"] = v2.Cors(
            AllowOrigins=[b.value(o) for o in spec.cors.origins],
            AllowMethods=list(spec.cors.methods), AllowHeaders=list(spec.cors.headers),
            MaxAge=spec.cors.max_age)
    logs = log_group(f"{name}LogGroup", spec.log_retention, b.value(spec.log_key))
    stage = v2.Stage(f"{name}Stage", ApiId=ref(name), StageName=spec.stage, AutoDeploy=True,
                     AccessLogSettings=v2.AccessLogSettings(
                         DestinationArn=get_att(logs.title, "Arn"), Format=ACCESS_LOG_FORMAT),
                     DefaultRouteSettings=v2.RouteSettings(
                         ThrottlingRateLimit=spec.throttle.rate,
                         ThrottlingBurstLimit=spec.throttle.burst))
    b.add(resource, v2.Api(name, **api_props), stage, logs)
    guards: dict[str, dict] = {k: {"AuthorizationType": "AWS_IAM"} for k in spec.iam_routes}
    at = f"resources.{name}"
    if spec.authorizer:
        node = resource.node["authorizer"]
        function = b.function_arn(spec.authorizer.function, node.value_marks.get("function"),
                                  f"{at}.authorizer.function")
        b.add(resource, *_authorizer(name, spec.authorizer, function))
        # a route guarded by a REQUEST authorizer has the type CUSTOM
        guards.update({k: {"AuthorizationType": "CUSTOM",
                           "AuthorizerId": ref(f"{name}Authorizer")}
                       for k in spec.authorizer.routes})
    if spec.jwt:
        b.add(resource, _jwt(b, name, spec.jwt))
        guards.update({k: {"AuthorizationType": "JWT", "AuthorizerId": ref(f"{name}Jwt"),
                           **({"AuthorizationScopes": list(spec.jwt.scopes)}
                              if spec.jwt.scopes else {})} for k in spec.jwt.routes})
    marks = resource.node["routes"].value_marks
    for key, function_arn in spec.routes.items():
        function = b.function_arn(function_arn, marks[key], f"{at}.routes.{key}")
        b.add(resource, *_route(name, key, function, guards.get(key, {}), spec.payload_format))


def _jwt(b, api: str, spec: JwtSpec) -> v2.Authorizer:
    return v2.Authorizer(f"{api}Jwt", ApiId=ref(api), Name=f"{api}Jwt", AuthorizerType="JWT",
                         IdentitySource=[f"$request.header.{spec.header}"],
                         JwtConfiguration=v2.JWTConfiguration(
                             Issuer=b.value(spec.issuer),
                             Audience=[b.value(a) for a in spec.audience]))


def _authorizer(api: str, spec: AuthorizerSpec, function_arn: Any) -> list:
    """A REQUEST authorizer with simple answers, never cached (a changed credential
    counts at once), and the permission letting this API alone invoke its function."""
    uri = sub("arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/"
              "functions/${Function}/invocations", Function=function_arn)
    authorizer = v2.Authorizer(f"{api}Authorizer", ApiId=ref(api), Name=f"{api}Authorizer",
                               AuthorizerType="REQUEST", AuthorizerUri=uri,
                               AuthorizerPayloadFormatVersion="2.0",
                               EnableSimpleResponses=True, AuthorizerResultTtlInSeconds=0,
                               IdentitySource=[f"$request.header.{spec.header}"])
    source = ("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
              f"${{{api}}}/authorizers/${{{authorizer.title}}}")
    permission = awslambda.Permission(f"{api}AuthorizerPermission",
                                      Action="lambda:InvokeFunction",
                                      FunctionName=function_arn,
                                      Principal="apigateway.amazonaws.com",
                                      SourceArn=sub(source))
    return [authorizer, permission]


def _route(api: str, key: str, function_arn: Any, auth: dict, payload: str) -> list:
    method, path = key.split(" ", 1)
    prefix = f"{api}{route_id(key)}"
    integration = v2.Integration(f"{prefix}Integration", ApiId=ref(api),
                                 IntegrationType="AWS_PROXY", IntegrationUri=function_arn,
                                 PayloadFormatVersion=payload, TimeoutInMillis=29000)
    route = v2.Route(f"{prefix}Route", ApiId=ref(api), RouteKey=key,
                     Target=sub(f"integrations/${{{integration.title}}}"), **auth)
    source = ("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
              f"${{{api}}}/*/{'*' if method == 'ANY' else method}{path}")
    permission = awslambda.Permission(f"{prefix}Permission", Action="lambda:InvokeFunction",
                                      FunctionName=function_arn,
                                      Principal="apigateway.amazonaws.com",
                                      SourceArn=sub(source))
    return [integration, route, permission]


KIND = Kind(
    name="http_api",
    description="API Gateway HTTP API: Lambda routes with scoped invoke permissions, "
                "per-route Lambda, JWT or IAM authorization, access logs, throttling",
    spec=HttpApiSpec,
    build=build,
    attributes=frozenset({"ApiEndpoint", "ApiId"}),
    parts={"Stage": frozenset(), "LogGroup": frozenset({"Arn"}), "Jwt": frozenset(),
           "Authorizer": frozenset()},
    waivers=(
        Waiver("CKV_AWS_158", "LogGroup", "Access log group encrypted by CloudWatch Logs' "
               "own keys; set log_key to use a customer key (the customers app does)",
               unless="log_key"),
    ),
)
