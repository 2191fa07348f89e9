"""`parameter`: an SSM Parameter Store String parameter (e.g. a table name for a function)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import ssm

from ..cfn import sub
from ..spec import Str, Value, field
from . import Kind


@dataclass(frozen=True)
class ParameterSpec:
    name: str = field(Str(r"/[A-Za-z0-9_.\-/]{1,1010}", "a path such as /app/env/name"),
                      "the parameter's name")
    value: Any = field(Value(), "its value (may be an intrinsic, e.g. !Ref Table)")
    description: str = field(Str(max_len=1024), "what it holds", None)


def build(b, resource) -> None:
    spec: ParameterSpec = resource.spec
    props: dict[str, Any] = {"Name": spec.name, "Type": "String", "Value": b.value(spec.value)}
    if spec.description:
        props["Description"] = spec.description
    b.add(resource, ssm.Parameter(resource.logical_id, **props))


KIND = Kind(
    name="parameter",
    description="SSM Parameter Store String parameter",
    spec=ParameterSpec,
    build=build,
    attributes=frozenset({"Type", "Value"}),
    service="ssm",
    access_levels={"read": ("ssm:GetParameter", "ssm:GetParameters")},
    access_arns=lambda name, action: [sub("arn:${AWS::Partition}:ssm:${AWS::Region}:"
                                  "${AWS::AccountId}:parameter${Name}", Name=name)],
    data_holding=True,
)
