"""`bucket`: a private S3 bucket — public access blocked, encrypted, TLS only, retained.

Its server access logs go to a log bucket of its own (`<Name>Logs`, same region as S3
requires), kept a year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import s3

from ..awsparts import access_logging, deny_insecure_transport, log_bucket, private_bucket
from ..cfn import ref, sub
from ..iam import document
from ..links import names, of_kind
from ..spec import Bool, Int, Value, field
from . import Kind, Waiver

LOG_BUCKET_WAIVER = Waiver("CKV_AWS_18", "Logs", "This is the access-log bucket: logging "
                           "it into itself would loop, and a bucket for its logs would "
                           "need one too")


@dataclass(frozen=True)
class BucketSpec:
    versioned: bool = field(Bool(), "keep every version of every object", False)
    kms_key: Any = field(Value(), "a customer-managed KMS key for encryption at rest "
                                  "(default: S3-managed keys)", None)
    name: Any = field(Value(), "the bucket name (default: generated)", None)
    retain: bool = field(Bool(), "keep the bucket and its objects when the stack is "
                                 "deleted", True)
    access_logs: bool = field(Bool(), "keep server access logs in a log bucket of its "
                                      "own", True)
    log_days: int = field(Int(1, 3653), "days access logs are kept", 365)
    eventbridge: bool = field(Bool(), "send its object events to EventBridge (on by itself "
                                      "when a function of the stage has a bucket trigger "
                                      "on it)", False)


def build(b, resource) -> None:
    spec: BucketSpec = resource.spec
    name = resource.logical_id
    bucket = private_bucket(name, spec.versioned, b.value(spec.kms_key),
                            b.value(spec.name), spec.retain)
    policy = s3.BucketPolicy(f"{name}Policy", Bucket=ref(name),
                             PolicyDocument=document([deny_insecure_transport(name)]))
    if spec.eventbridge or _triggered(b, name):
        bucket.NotificationConfiguration = s3.NotificationConfiguration(
            EventBridgeConfiguration=s3.EventBridgeConfiguration(EventBridgeEnabled=True))
    b.add(resource, bucket, policy)
    if spec.access_logs:
        bucket.LoggingConfiguration = access_logging(f"{name}Logs")
        b.add(resource, *log_bucket(f"{name}Logs", [name], False, spec.log_days))


def _triggered(b, name: str) -> bool:
    return any(names(event.bucket, name) for function in of_kind(b.stage, "function")
               for event in (function.spec.events or {}).values())


KIND = Kind(
    name="bucket",
    description="Private S3 bucket: public access blocked, encrypted, TLS only, access "
                "logs to a log bucket, retained",
    spec=BucketSpec,
    build=build,
    attributes=frozenset({"Arn", "DomainName", "RegionalDomainName"}),
    parts={"Policy": frozenset(), "Logs": frozenset({"Arn"}), "LogsPolicy": frozenset()},
    service="s3",
    access_levels={"read": ("s3:GetObject",), "list": ("s3:ListBucket",),
                   "write": ("s3:DeleteObject", "s3:PutObject")},
    access_arns=lambda arn, action: [arn] if action == "s3:ListBucket"
    else [sub("${Bucket}/*", Bucket=arn)],
    data_holding=True,
    waivers=(LOG_BUCKET_WAIVER,),
)
