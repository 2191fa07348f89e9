"""Pieces several kinds share: private encrypted buckets, log groups, DNS aliases."""

from __future__ import annotations

from typing import Any

from awacs.aws import Bool, Condition, Deny, Principal, Statement
from troposphere import logs, route53, s3

from .cfn import Intrinsic, get_att, sub

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
    from awacs.aws import Action

    return Action("s3", "*")


def log_group(logical_id: str, retention: int) -> logs.LogGroup:
    return logs.LogGroup(logical_id, RetentionInDays=retention)


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
