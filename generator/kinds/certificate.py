"""`certificate`: an ACM certificate validated through DNS in a Route 53 hosted zone."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import certificatemanager as acm

from ..spec import ListOf, Str, field
from . import Kind

DOMAIN = Str(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
             "a lower-case domain name such as api.example.com")


@dataclass(frozen=True)
class CertificateSpec:
    domain: str = field(DOMAIN, "the name the certificate is for")
    hosted_zone: str = field(DOMAIN, "the Route 53 zone that proves ownership (its id is "
                                     "looked up by name at deploy time)")
    alternative_names: tuple = field(ListOf(DOMAIN), "more names on the same "
                                                     "certificate", ())


def build(b, resource) -> None:
    spec: CertificateSpec = resource.spec
    zone = b.hosted_zone_id(spec.hosted_zone)
    names = (spec.domain,) + spec.alternative_names
    props = {
        "DomainName": spec.domain, "ValidationMethod": "DNS",
        "DomainValidationOptions": [acm.DomainValidationOption(DomainName=n, HostedZoneId=zone)
                                    for n in names],
    }
    if spec.alternative_names:
        props["SubjectAlternativeNames"] = list(spec.alternative_names)
    b.add(resource, acm.Certificate(resource.logical_id, **props))


KIND = Kind(
    name="certificate",
    description="ACM certificate validated by DNS in a Route 53 hosted zone",
    spec=CertificateSpec,
    build=build,
    attributes=frozenset(),
)
