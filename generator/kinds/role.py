"""`role`: an IAM role for a service, with least-privilege access declared per resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import iam

from ..iam import ACCESS_LIST, REFUSED_POLICIES, assume_role, document, grants
from ..spec import ListOf, Str, Value, field
from . import Kind


@dataclass(frozen=True)
class RoleSpec:
    service: str = field(Str(r"[a-z0-9.-]+\.amazonaws\.com", "a service principal such "
                                                             "as lambda.amazonaws.com"),
                         "the AWS service that assumes the role")
    access: tuple = field(ACCESS_LIST, "what the role may do to which resources", ())
    managed_policies: tuple = field(ListOf(Value()), "ARNs of managed policies to attach "
                                                     "(no *FullAccess or admin policies)", ())
    name: Any = field(Value(), "the role name (default: generated)", None)

    def validate(self, at, node) -> None:
        for index, arn in enumerate(self.managed_policies):
            if isinstance(arn, str) and any(p in arn for p in REFUSED_POLICIES):
                at.key("managed_policies", None).item(
                    index, node["managed_policies"].item_marks[index]).error(
                    f"'{arn}' grants far more than a role needs; declare access: "
                    "entries for the resources it uses instead")


def build(b, resource) -> None:
    spec: RoleSpec = resource.spec
    props: dict[str, Any] = {"AssumeRolePolicyDocument": assume_role(spec.service)}
    statements = grants(b, resource, spec.access)
    if statements:
        props["Policies"] = [iam.Policy(PolicyName=f"{resource.logical_id}Access",
                                        PolicyDocument=document(statements))]
    if spec.managed_policies:
        props["ManagedPolicyArns"] = [b.value(a) for a in spec.managed_policies]
    if spec.name is not None:
        props["RoleName"] = b.value(spec.name)
    b.add(resource, iam.Role(resource.logical_id, **props))


KIND = Kind(
    name="role",
    description="IAM role assumed by an AWS service; policies from declared access",
    spec=RoleSpec,
    build=build,
    attributes=frozenset({"Arn", "RoleId"}),
    service="iam",
)
