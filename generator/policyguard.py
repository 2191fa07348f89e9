"""The policy guard: every built template is checked before anything is written.

`access:` entries are least privilege by construction, but a template can carry policies
from elsewhere too: `raw` resources, roles, managed and resource policies. So the guard
reads the finished template, whatever built it, and fails closed: what it cannot read it
refuses. A policy must be written out (a mapping, not a JSON string or an intrinsic) with
`Effect: Allow` or `Deny` spelled out and actions named; then it refuses wildcard
actions (`*` and `?`), `NotAction`/`NotResource`/`NotPrincipal` in an Allow, identity
policies on every resource except for the few actions AWS only offers that way (listed
below with why), AWS-managed policies other than a few narrow ones (so no admin or
`*FullAccess`, however the ARN is spelled), a principal of everyone without a condition
naming who, principals in other accounts, and resources that pull in or run what no one
reviewed (nested stacks, custom resources, transforms, long-lived IAM credentials,
secret dynamic references).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Actions that have no resource-level permissions: `Resource: '*'` is the only form AWS
# accepts for them. Each is read-only or writes only telemetry.
STAR_ONLY = {
    "xray:PutTraceSegments": "X-Ray tracing: segments are not resources",
    "xray:PutTelemetryRecords": "X-Ray tracing: telemetry is not a resource",
    "xray:GetSamplingRules": "X-Ray tracing: reads the account's sampling rules",
    "xray:GetSamplingTargets": "X-Ray tracing: reads the account's sampling targets",
    "cloudwatch:PutMetricData": "metrics are scoped by namespace, not by resource",
    "ec2:CreateNetworkInterface": "a function in a VPC: its network interfaces do not "
                                  "exist before it creates them",
    "ec2:DescribeNetworkInterfaces": "a function in a VPC: describe calls take no ARN",
    "ec2:DeleteNetworkInterface": "a function in a VPC: removes the interfaces it made",
    "sts:GetCallerIdentity": "who am I: takes no resource",
}
# AWS-managed policies narrow enough to attach (all others grant far beyond one app).
MANAGED_ALLOWED = frozenset({
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs", "AWSXRayDaemonWriteAccess"})
# Step Functions (and other vended logs) set up log delivery with these: AWS documents
# them with `Resource: '*'` only, as deliveries have no ARN before they exist.
STAR_ONLY.update({action: "log delivery of a state machine: deliveries take no ARN" for
                  action in ("logs:CreateLogDelivery", "logs:DeleteLogDelivery",
                             "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
                             "logs:GetLogDelivery", "logs:ListLogDeliveries",
                             "logs:PutResourcePolicy", "logs:UpdateLogDelivery")})
IDENTITY_TYPES = frozenset({
    "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User",
    "AWS::IAM::Group", "AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy",
    "AWS::IAM::GroupPolicy"})
POLICY_KEYS = ("PolicyDocument", "KeyPolicy", "ResourcePolicy", "RepositoryPolicyText",
               "Policy", "AssumeRolePolicyDocument", "AccessPolicies", "FileSystemPolicy")
REFUSED_TYPES = {
    "AWS::CloudFormation::Stack": "a nested stack pulls in a template no one reviewed here",
    "AWS::CloudFormation::StackSet": "a stack set deploys templates no one reviewed here",
    "AWS::CloudFormation::Macro": "a macro rewrites templates at deploy time",
    "AWS::CloudFormation::CustomResource": "a custom resource sends the stack's values to "
                                           "code no one reviewed here",
    "AWS::IAM::AccessKey": "long-lived access keys do not belong in an app",
    "AWS::IAM::User": "IAM users (long-lived identities) do not belong in an app",
    "AWS::IAM::LoginProfile": "console passwords do not belong in an app",
    "AWS::IAM::UserToGroupAddition": "adding users to groups does not belong in an app",
}
WHO = ("aws:sourcearn", "aws:sourceaccount", "aws:principalorgid", "aws:principalaccount",
       "aws:sourceorgid", "aws:sourcevpce", "aws:sourcevpc", "aws:principalarn",
       "kms:calleraccount")
SECRET_REFERENCE = re.compile(r"\{\{resolve:(secretsmanager|ssm-secure):")
_SECRET_REFERENCE_BYTES = re.compile(SECRET_REFERENCE.pattern.encode())
ACCOUNT = re.compile(r"(?:^|:)(\d{12})(?::|$)")
ATTACHED = ("Roles", "Users", "Groups")


@dataclass(frozen=True)
class Violation:
    """One thing the guard refuses: in which resource, where in it, and why."""

    logical_id: str
    path: tuple            # keys and indexes inside the resource, e.g. ("Properties", …)
    message: str


def check_template(template: dict, account: str | None = None,
                   text: bytes | None = None) -> list[Violation]:
    """Every violation in a template's resources, in resource order; `account` is the
    environment's pinned account, the one other account ids are compared with. `text`,
    the template as written: where it holds no transform and no secret reference, no
    resource does, and the look for them is skipped."""
    hidden = text is None or might_hide(text)
    found = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict):
            for path, message in _resource(resource, account, hidden):
                found.append(Violation(logical_id, path, message))
    return found


def might_hide(text: bytes) -> bool:
    """Whether a written template may hold a transform or a secret's reference anywhere
    (keys and strings appear whole in its YAML: no style splits or escapes them)."""
    return b"Fn::Transform" in text or _SECRET_REFERENCE_BYTES.search(text) is not None


def _resource(resource: dict, account: str | None,
              hidden: bool = True) -> Iterator[tuple[tuple, str]]:
    kind = str(resource.get("Type", ""))
    if kind in REFUSED_TYPES or kind.startswith(("Custom::", "AWS::Serverless::")):
        reason = REFUSED_TYPES.get(kind, "it runs code or expands into resources no one "
                                         "reviewed here")
        yield ("Type",), f"{kind} is not allowed: {reason}"
        return
    if hidden:
        text = json.dumps(resource)     # one fast look; the walk only finds where it is
        if "Fn::Transform" in text or SECRET_REFERENCE.search(text):
            yield from _everywhere(resource, ())
    props = resource.get("Properties") or {}
    if not isinstance(props, dict):
        return
    yield from _policies(kind, props, account)
    yield from _managed(props)
    yield from _attached(kind, props)
    yield from _functions(kind, props)


def _everywhere(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    """Transforms and secret dynamic references, wherever they are written."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Fn::Transform":
                yield path + (key,), ("Fn::Transform pulls in or rewrites template parts "
                                      "at deploy time, past every check here")
            else:
                yield from _everywhere(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _everywhere(item, path + (index,))
    elif isinstance(value, str) and SECRET_REFERENCE.search(value):
        yield path, ("a secret's dynamic reference ({{resolve:secretsmanager…}}) copies "
                     "the secret into a property; give the resource the secret's ARN")


def documents(kind: str, props: dict) -> Iterator[tuple[tuple, Any, bool]]:
    """(path in Properties, policy document as written, is an identity policy) of every
    policy a resource's properties carry."""
    for key in POLICY_KEYS:
        if key in props and not (key == "Policy" and kind != "AWS::ApiGateway::RestApi"
                                 and not isinstance(props[key], dict)):
            yield (key,), props[key], kind in IDENTITY_TYPES and key != "AssumeRolePolicyDocument"
    if kind == "AWS::Events::EventBusPolicy" and "Statement" in props:
        yield (), {"Statement": props["Statement"]}, False
    for index, policy in enumerate(_listed(props.get("Policies"))):
        if isinstance(policy, dict) and "PolicyDocument" in policy:
            yield ("Policies", index, "PolicyDocument"), policy["PolicyDocument"], True


def statements(document: dict) -> list:
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def _policies(kind: str, props: dict, account: str | None) -> Iterator[tuple[tuple, str]]:
    for path, document, identity in documents(kind, props):
        at = ("Properties",) + path
        if not isinstance(document, dict) or _intrinsic(document):
            yield at, ("write the policy out as a mapping (not a JSON string or an "
                       "intrinsic), so it can be checked")
            continue
        listed = document.get("Statement")
        if not isinstance(listed, (list, dict)) or _intrinsic(listed):
            yield at + ("Statement",), "write the statements out as a list of mappings"
            continue
        many = isinstance(listed, list)
        for index, statement in enumerate(listed if many else [listed]):
            where = at + (("Statement", index) if many else ("Statement",))
            yield from _statement(statement, where, identity, account)


def _statement(statement: Any, at: tuple, identity: bool,
               account: str | None) -> Iterator[tuple[tuple, str]]:
    if not isinstance(statement, dict) or _intrinsic(statement):
        yield at, "write each statement out as a mapping"
        return
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        yield at + ("Effect",), "Effect must be written out as Allow or Deny"
        return
    if effect == "Deny":
        return
    for key in ("NotAction", "NotResource", "NotPrincipal"):
        if key in statement:
            yield at + (key,), (f"{key} in an Allow grants everything it does not name; "
                                "list what is allowed instead")
    actions = yield from _actions(statement, at)
    if identity:
        yield from _resources(statement, at, actions)
    if "Principal" in statement:
        yield from _principal(statement, at, account)


def _actions(statement: dict, at: tuple):
    listed = _listed(statement.get("Action"))
    named = []
    for index, action in enumerate(listed):
        where = at + (("Action", index) if len(listed) > 1 else ("Action",))
        if not isinstance(action, str):
            yield where, "write each action out (service:Action), not as an intrinsic"
        elif "*" in action or "?" in action:
            yield where, (f"an Allow with the wildcard action '{action}' grants more than "
                          "intended; name each action, e.g. s3:GetObject")
        else:
            named.append(action)
    return named


def _resources(statement: dict, at: tuple, actions: list[str]) -> Iterator[tuple[tuple, str]]:
    if not any(_every_resource(r) for r in _listed(statement.get("Resource"))):
        return
    wide = sorted(a for a in actions if a not in STAR_ONLY)
    if wide:
        yield at + ("Resource",), (
            f"{', '.join(wide)} allowed on every resource ('*'); name the resources "
            "(only " + ", ".join(sorted(STAR_ONLY)) + " may use '*')")


def _every_resource(resource: Any) -> bool:
    """`*`, an ARN whose service or resource is `*`, or an intrinsic with a lone `*`."""
    if not isinstance(resource, str):
        return "*" in _leaves(resource)
    parts = resource.split(":")
    return resource == "*" or (len(parts) >= 6 and (parts[2] == "*" or
                                                    ":".join(parts[5:]) == "*"))


def _principal(statement: dict, at: tuple, account: str | None
               ) -> Iterator[tuple[tuple, str]]:
    principal = statement["Principal"]
    where = at + ("Principal",)
    if _intrinsic(principal) or not isinstance(principal, (str, dict)):
        yield where, "write the principal out (a mapping such as {Service: …} or {AWS: …})"
        return
    leaves = _leaves(principal)
    everyone = "*" in leaves or any(leaf.endswith(":*") for leaf in leaves)
    if everyone and not _names_who(statement.get("Condition")):
        yield where, ("an Allow to every principal ('*') without a Condition naming who "
                      "(aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID) makes this "
                      "public; add one or name the principal")
    for leaf in leaves:
        other = ACCOUNT.search(leaf)
        if other and other.group(1) != account:
            yield where, (f"a principal in account {other.group(1)}, not this "
                          "environment's; use ${AWS::AccountId}, or pin the environment's "
                          "account in app.yaml (account:)")


def _names_who(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    for keys in condition.values():
        if isinstance(keys, dict):
            for key, value in keys.items():
                if key.lower() in WHO and value not in ("*", "", [], None):
                    return True
    return False


def _managed(props: dict) -> Iterator[tuple[tuple, str]]:
    for index, arn in enumerate(_listed(props.get("ManagedPolicyArns"))):
        text = "".join(_leaves(arn))
        found = re.search(r"iam::aws:policy/(.*)$", text)
        name = found.group(1) if found else ""
        if found and name not in MANAGED_ALLOWED or re.search(
                r"AdministratorAccess|PowerUserAccess|FullAccess|job-function/", text):
            yield ("Properties", "ManagedPolicyArns", index), (
                f"the AWS managed policy {name or text} grants far more than one app needs; "
                "declare `access:` (or name the actions) instead; allowed AWS-managed "
                "policies: " + ", ".join(sorted(MANAGED_ALLOWED)))


def _attached(kind: str, props: dict) -> Iterator[tuple[tuple, str]]:
    """A policy attaches to roles of this app (!Ref, !GetAtt, !Output), never to a role,
    user or group named outright (the deploy role itself, say)."""
    if kind not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        return
    for key in ATTACHED:
        for index, target in enumerate(_listed(props.get(key))):
            if isinstance(target, str):
                yield ("Properties", key, index), (
                    f"attaches to {target!r}, named outright; attach only to this app's "
                    "roles (!Ref Role, !GetAtt Role.Arn, !Output <stage>.<Role>)")


def _functions(kind: str, props: dict) -> Iterator[tuple[tuple, str]]:
    if kind == "AWS::Lambda::Url" and props.get("AuthType") != "AWS_IAM":
        yield ("Properties", "AuthType"), ("a function URL without AWS_IAM auth is public; "
                                           "serve it through an API instead")
    if kind != "AWS::Lambda::Permission":
        return
    principal = props.get("Principal")
    if not isinstance(principal, str):
        yield ("Properties", "Principal"), "write the principal out as text"
    elif "*" in principal and not any(_given(props.get(k)) for k in (
            "SourceArn", "SourceAccount", "PrincipalOrgID")):
        yield ("Properties", "Principal"), ("lets anyone invoke the function; name the "
                                            "calling service and its SourceArn")
    if props.get("FunctionUrlAuthType") == "NONE":
        yield ("Properties", "FunctionUrlAuthType"), "a public function URL"


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != {"Ref": "AWS::NoValue"}


def _intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and \
        next(iter(value)).startswith(("Fn::", "Ref"))


def _leaves(value: Any) -> list[str]:
    """Every text written inside a value, intrinsics included (`!Join ['', ['*']]` → '*')."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return []


def _listed(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
