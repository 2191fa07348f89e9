"""`website`: a static site on a private bucket, served only through CloudFront.

The bucket blocks all public access and is encrypted; CloudFront reads it with Origin
Access Control, and the bucket policy lets exactly this distribution read (by its ARN).
Viewers get HTTPS only (http redirects), TLS 1.2 or newer, SNI, the custom domain as
alias, and Route 53 alias records. The certificate must be in us-east-1. CloudFront's and the
bucket's access logs go to a log bucket of the site's own (`<Name>Logs`, kept a year).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from awacs.aws import Condition, Principal, StringEquals
from troposphere import cloudfront as cf
from troposphere import s3

from ..awsparts import (
    CLOUDFRONT_ZONE_ID,
    access_logging,
    alias_records,
    deny_insecure_transport,
    log_bucket,
    private_bucket,
)
from ..cfn import get_att, ref, sub
from ..iam import allow, document
from ..spec import Anything, Bool, Int, ListOf, MapOf, Str, Value, field
from . import Kind, Waiver
from .bucket import LOG_BUCKET_WAIVER
from .certificate import DOMAIN

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS managed cache policy
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"  # AWS managed SecurityHeaders


@dataclass(frozen=True)
class WebsiteSpec:
    domain: str = field(DOMAIN, "the site's domain name, e.g. example.com (default: "
                                "none, the distribution's own *.cloudfront.net name)", None)
    hosted_zone: str = field(DOMAIN, "the Route 53 zone the alias records go in (with "
                                     "domain)", None)
    certificate: Any = field(Value(), "ARN of an ACM certificate for the domain in "
                                      "us-east-1 (CloudFront's region; with domain)", None)
    index: str = field(Str(r"[A-Za-z0-9_./-]+", "a file name"),
                       "the page served at /", "index.html")
    price_class: str = field(Str(choices=("PriceClass_100", "PriceClass_200",
                                          "PriceClass_All")),
                             "which edge locations serve the site", "PriceClass_100")
    ipv6: bool = field(Bool(), "serve over IPv6 too (adds an AAAA record)", True)
    retain: bool = field(Bool(), "keep the bucket when the stack is deleted", False)
    error_ttl: int = field(Int(0, 86400), "seconds CloudFront caches error pages", 10)
    log_days: int = field(Int(1, 3653), "days access logs are kept", 365)
    bucket_policy: tuple = field(ListOf(MapOf(Anything())), "more statements for the "
                                 "site bucket's one policy (IAM JSON; the policy guard "
                                 "checks them)", ())

    def validate(self, at, node) -> None:
        given = [k for k in ("domain", "hosted_zone", "certificate")
                 if getattr(self, k) is not None]
        if given and len(given) != 3:
            at.error("a custom domain needs domain, hosted_zone and certificate together; "
                     f"you gave {', '.join(given)} (give none for *.cloudfront.net)")


def build(b, resource) -> None:
    spec: WebsiteSpec = resource.spec
    name = resource.logical_id
    bucket = private_bucket(f"{name}Bucket", versioned=False, retain=spec.retain)
    bucket.LoggingConfiguration = access_logging(f"{name}Logs")
    logs = log_bucket(f"{name}Logs", [bucket.title], True, spec.log_days)
    oac = cf.OriginAccessControl(f"{name}OriginAccess", OriginAccessControlConfig=
                                 cf.OriginAccessControlConfig(
                                     Name=sub(f"${{AWS::StackName}}-{name}"),
                                     OriginAccessControlOriginType="s3",
                                     SigningBehavior="always", SigningProtocol="sigv4"))
    config = _config(spec, bucket.title, oac.title, b.value(spec.certificate), logs[0].title)
    distribution = cf.Distribution(name, DistributionConfig=config)
    document_ = _bucket_policy(bucket.title, name)
    # Extended in place: awacs would want Statement objects, these are IAM JSON as written.
    document_.Statement.extend(b.value(s) for s in spec.bucket_policy)
    policy = s3.BucketPolicy(f"{name}BucketPolicy", Bucket=ref(bucket.title),
                             PolicyDocument=document_)
    records = alias_records(f"{name}Record", b.hosted_zone_id(spec.hosted_zone),
                            spec.domain, get_att(name, "DomainName"), CLOUDFRONT_ZONE_ID,
                            spec.ipv6) if spec.domain else []
    b.add(resource, distribution, bucket, oac, policy, *records, *logs)


def _config(spec: WebsiteSpec, bucket: str, oac: str, certificate: Any,
            log_bucket: str) -> cf.DistributionConfig:
    origin = "site"
    # Without a domain, viewers use *.cloudfront.net and CloudFront's own certificate.
    viewer = cf.ViewerCertificate(AcmCertificateArn=certificate, SslSupportMethod="sni-only",
                                  MinimumProtocolVersion="TLSv1.2_2021") if spec.domain \
        else cf.ViewerCertificate(CloudFrontDefaultCertificate=True)
    return cf.DistributionConfig(
        Enabled=True, DefaultRootObject=spec.index, **(
            {"Aliases": [spec.domain]} if spec.domain else {}),
        HttpVersion="http2and3", IPV6Enabled=spec.ipv6, PriceClass=spec.price_class,
        Origins=[cf.Origin(Id=origin, DomainName=get_att(bucket, "RegionalDomainName"),
                           OriginAccessControlId=get_att(oac, "Id"),
                           S3OriginConfig=cf.S3OriginConfig(OriginAccessIdentity=""))],
        DefaultCacheBehavior=cf.DefaultCacheBehavior(
            TargetOriginId=origin, ViewerProtocolPolicy="redirect-to-https",
            AllowedMethods=["GET", "HEAD"], CachedMethods=["GET", "HEAD"], Compress=True,
            CachePolicyId=CACHING_OPTIMIZED, ResponseHeadersPolicyId=SECURITY_HEADERS),
        CustomErrorResponses=[cf.CustomErrorResponse(ErrorCode=code,
                                                     ErrorCachingMinTTL=spec.error_ttl)
                              for code in (403, 404)],
        Logging=cf.Logging(Bucket=get_att(log_bucket, "DomainName"),
                           Prefix="cloudfront/", IncludeCookies=False),
        ViewerCertificate=viewer,
    )


def _bucket_policy(bucket: str, distribution: str):
    distribution_arn = sub(f"arn:${{AWS::Partition}}:cloudfront::${{AWS::AccountId}}:"
                           f"distribution/${{{distribution}}}")
    read = allow(["s3:GetObject"], [sub(f"${{{bucket}.Arn}}/*")])
    read.Sid = "CloudFrontReadsThroughOriginAccessControl"
    read.Principal = Principal("Service", ["cloudfront.amazonaws.com"])
    read.Condition = Condition(StringEquals("AWS:SourceArn", distribution_arn))
    return document([read, deny_insecure_transport(bucket)])


KIND = Kind(
    name="website",
    description="Static site: private encrypted bucket read only by its CloudFront "
                "distribution (OAC), HTTPS; a custom domain (TLS 1.2+, Route 53 alias) or "
                "*.cloudfront.net; access logs",
    spec=WebsiteSpec,
    build=build,
    attributes=frozenset({"DomainName", "Id"}),
    parts={"Bucket": frozenset({"Arn", "RegionalDomainName"}),
           "OriginAccess": frozenset({"Id"}), "BucketPolicy": frozenset(),
           "Logs": frozenset({"Arn"}), "LogsPolicy": frozenset()},
    waivers=(
        Waiver("CKV_AWS_68", "", "No WAF web ACL (billed monthly): the distribution serves "
               "only cached GET/HEAD of static pages from a private bucket; the API has its "
               "own guards"),
        Waiver("CKV_AWS_21", "Bucket", "Not versioned: its pages are published from "
               "site_assets/ on every deploy, so git is their history; no data lives here"),
        LOG_BUCKET_WAIVER,
        Waiver("CKV_AWS_174", "", "Served on its *.cloudfront.net name, with CloudFront's "
               "default certificate, whose minimum TLS version only AWS sets; give domain "
               "and certificate for TLS 1.2 or newer", unless="certificate"),
    ),
)
