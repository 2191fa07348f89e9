"""`api_domain`: a custom domain for HTTP APIs — TLS 1.2, optional mutual TLS, DNS alias."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import apigatewayv2 as v2

from ..awsparts import alias_records
from ..cfn import get_att, ref
from ..spec import ListOf, Str, Struct, Value, field
from . import Kind
from .certificate import DOMAIN


@dataclass(frozen=True)
class Mapping:
    api: Any = field(Value(), "the API: !Ref <http_api>")
    stage: Any = field(Value(), "its stage: !Ref <http_api>Stage")
    path: str = field(Str(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", "a path such as raffle"),
                      "the base path the API is served under", None)


@dataclass(frozen=True)
class ApiDomainSpec:
    domain: str = field(DOMAIN, "the custom domain name, e.g. api.example.com")
    hosted_zone: str = field(DOMAIN, "the Route 53 zone the alias record goes in")
    certificate: Any = field(Value(), "ARN of an ACM certificate for the domain, in the "
                                      "API's region: !Ref <certificate>")
    mappings: tuple = field(ListOf(Struct(Mapping, "a mapping"), 1),
                            "APIs served under this domain, each at a base path")
    truststore: Any = field(Value(), "s3:// URI of the CA bundle clients' certificates "
                                     "must chain to (turns on mutual TLS)", None)


def build(b, resource) -> None:
    spec: ApiDomainSpec = resource.spec
    name = resource.logical_id
    props: dict[str, Any] = {
        "DomainName": spec.domain,
        "DomainNameConfigurations": [v2.DomainNameConfiguration(
            CertificateArn=b.value(spec.certificate), EndpointType="REGIONAL",
            SecurityPolicy="TLS_1_2")],
    }
    if spec.truststore is not None:
        props["MutualTlsAuthentication"] = v2.MutualTlsAuthentication(
            TruststoreUri=b.value(spec.truststore))
    b.add(resource, v2.DomainName(name, **props))
    for index, mapping in enumerate(spec.mappings):
        extra = {"ApiMappingKey": mapping.path} if mapping.path else {}
        b.add(resource, v2.ApiMapping(f"{name}Mapping{index + 1}", DomainName=ref(name),
                                      ApiId=b.value(mapping.api),
                                      Stage=b.value(mapping.stage), **extra))
    b.add(resource, *alias_records(
        f"{name}Record", b.hosted_zone_id(spec.hosted_zone), spec.domain,
        get_att(name, "RegionalDomainName"), get_att(name, "RegionalHostedZoneId"),
        ipv6=False))


KIND = Kind(
    name="api_domain",
    description="Custom domain for HTTP APIs: TLS 1.2, optional mutual TLS, "
                "base-path mappings, Route 53 alias",
    spec=ApiDomainSpec,
    build=build,
    attributes=frozenset({"RegionalDomainName", "RegionalHostedZoneId"}),
)
