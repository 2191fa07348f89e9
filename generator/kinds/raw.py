"""`raw`: any CloudFormation resource, passed through as written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import AWSObject

from ..spec import Anything, Bool, MapOf, Str, field
from . import ANY_ATTRIBUTE, Kind

POLICY = Str(choices=("Delete", "Retain", "RetainExceptOnCreate", "Snapshot"))


class RawResource(AWSObject):
    """A troposphere object of any type, with properties that are not checked here."""

    def __init__(self, title: str, resource_type: str, properties: dict, **attrs) -> None:
        self.resource_type = resource_type
        super().__init__(title, **attrs)
        self.properties.update(properties)


@dataclass(frozen=True)
class RawSpec:
    type: str = field(Str(r"(AWS|Alexa)::[A-Za-z0-9]+::[A-Za-z0-9]+(::[A-Za-z0-9]+)?|"
                          r"Custom::[A-Za-z0-9_@-]+",
                          "a resource type such as AWS::SNS::Topic"),
                      "the CloudFormation resource type")
    properties: dict = field(MapOf(Anything()), "its properties, as CloudFormation "
                                                "documents them (checked by cfn-lint)", None)
    deletion_policy: str = field(POLICY, "what happens when it leaves the stack", None)
    update_replace_policy: str = field(POLICY, "what happens to the old one on "
                                               "replacement", None)
    data_holding: bool = field(Bool(), "holds data: replacing or deleting it needs "
                                       "consent at deploy time", False)


def build(b, resource) -> None:
    spec: RawSpec = resource.spec
    attrs: dict[str, Any] = {}
    if spec.deletion_policy:
        attrs["DeletionPolicy"] = spec.deletion_policy
    if spec.update_replace_policy:
        attrs["UpdateReplacePolicy"] = spec.update_replace_policy
    properties = {k: b.value(v) for k, v in (spec.properties or {}).items()}
    b.add(resource, RawResource(resource.logical_id, spec.type, properties, **attrs))


KIND = Kind(
    name="raw",
    description="Any CloudFormation resource type, properties passed through as written",
    spec=RawSpec,
    build=build,
    attributes=ANY_ATTRIBUTE,
)
