"""Pieces several kinds share: private encrypted buckets, log groups and log buckets,
DNS aliases."""

from __future__ import annotations

from typing import Any

from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    Bool,
    Condition,
    Deny,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import logs, route53, s3

from .cfn import Intrinsic, get_att, ref, sub
from .iam import document
from .spec import Value, field

CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"  # the fixed hosted zone of every CloudFront alias


def private_bucket(logical_id: str, versioned: bool, kms_key: Any = None,
                   name: Any = None, retain: bool = True) -> s3.Bucket:
    """A bucket nobody outside the account can reach, encrypted at rest."""
    default = (s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=kms_key)
               if kms_key is not None else
               s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))
    props: dict[str, Any] = {
        "BucketEncryption": s3.BucketEncryption(ServerSideEncryptionConfiguration=[
            s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=default,
                                        BucketKeyEnabled=True)]),
        "PublicAccessBlockConfiguration": s3.PublicAccessBlockConfiguration(
            BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True,
            RestrictPublicBuckets=True),
        "OwnershipControls": s3.OwnershipControls(Rules=[
            s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
    }
    if versioned:
        props["VersioningConfiguration"] = s3.VersioningConfiguration(Status="Enabled")
    if name is not None:
        props["BucketName"] = name
    bucket = s3.Bucket(logical_id, **props)
    if retain:
        bucket.DeletionPolicy = bucket.UpdateReplacePolicy = "Retain"
    return bucket


def deny_insecure_transport(bucket_id: str) -> Statement:
    """Refuse any request to the bucket that does not use TLS."""
    return Statement(Sid="DenyInsecureTransport", Effect=Deny, Principal=Principal("*"),
                     Action=[_s3_any()], Resource=[get_att(bucket_id, "Arn"),
                                                   sub(f"${{{bucket_id}.Arn}}/*")],
                     Condition=Condition(Bool("aws:SecureTransport", False)))


def _s3_any():
    # A Deny statement may use s3:* safely: it only ever takes permissions away.
    return Action("s3", "*")


def log_group(logical_id: str, retention: int, kms_key: Any = None) -> logs.LogGroup:
    """A log group kept when its stack goes (logs are evidence), optionally KMS-encrypted."""
    group = logs.LogGroup(logical_id, RetentionInDays=retention,
                          **({"KmsKeyId": kms_key} if kms_key is not None else {}))
    group.DeletionPolicy = group.UpdateReplacePolicy = "Retain"
    return group


def log_key_field():
    """The spec field of kinds whose log groups may be encrypted with a customer key."""
    return field(Value(), "ARN of a KMS key encrypting its log groups (a kms_key whose "
                          "log_groups lets CloudWatch Logs use it; default: CloudWatch "
                          "Logs' own encryption)", None)


def log_bucket(logical_id: str, sources: list[str], acl_delivery: bool,
               expire_days: int) -> tuple[s3.Bucket, s3.BucketPolicy]:
    """A private, versioned, retained bucket receiving access logs of `sources` buckets.

    S3 server access logs accept only S3-managed encryption on their target; CloudFront's
    standard logs are delivered through bucket ACLs, so `acl_delivery` lets the bucket
    owner keep ACLs (public access stays blocked either way).
    """
    bucket = private_bucket(logical_id, versioned=True)
    if acl_delivery:
        bucket.OwnershipControls = s3.OwnershipControls(Rules=[
            s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerPreferred")])
    bucket.LifecycleConfiguration = s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
        Id="ExpireLogs", Status="Enabled", ExpirationInDays=expire_days,
        NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=30))])
    write = Statement(
        Sid="S3ServerAccessLogsDelivery", Effect=Allow,
        Principal=Principal("Service", ["logging.s3.amazonaws.com"]),
        Action=[Action("s3", "PutObject")], Resource=[sub(f"${{{logical_id}.Arn}}/s3/*")],
        Condition=Condition([StringEquals("aws:SourceAccount", sub("${AWS::AccountId}")),
                             ArnLike("aws:SourceArn", [get_att(b, "Arn") for b in sources])]))
    policy = s3.BucketPolicy(f"{logical_id}Policy", Bucket=ref(logical_id),
                             PolicyDocument=document([write, deny_insecure_transport(logical_id)]))
    return bucket, policy


def access_logging(log_bucket_id: str) -> s3.LoggingConfiguration:
    return s3.LoggingConfiguration(DestinationBucketName=ref(log_bucket_id),
                                   LogFilePrefix="s3/")


def alias_records(logical_id: str, zone_id: Intrinsic, name: str, target_dns: Any,
                  target_zone: Any, ipv6: bool) -> list[route53.RecordSetType]:
    """A (and AAAA) alias records pointing a name at CloudFront or API Gateway."""
    records = []
    for suffix, record_type in (("", "A"), ("Ipv6", "AAAA"))[: 2 if ipv6 else 1]:
        records.append(route53.RecordSetType(
            f"{logical_id}{suffix}", HostedZoneId=zone_id, Name=name, Type=record_type,
            AliasTarget=route53.AliasTarget(DNSName=target_dns, HostedZoneId=target_zone,
                                            EvaluateTargetHealth=False)))
    return records
