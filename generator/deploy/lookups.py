"""Looking up data-holding resources by name, before a stack creates them (`adopt.py`).

Each lookup returns (the identifier an import needs, the resource's tags) or None when
nothing has that name. They take the Cloud's client factory, so they stay on its seam.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

Client = Callable[[str, str], Any]



def _tags(pairs: list[dict] | dict) -> dict[str, str]:
    if isinstance(pairs, dict):
        return dict(pairs)
    return {p.get("Key", p.get("key", p.get("TagKey", ""))):
            p.get("Value", p.get("value", p.get("TagValue", ""))) for p in pairs}


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _table(client: Client, name: str, region: str):
    dynamodb = client("dynamodb", region)
    try:
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
    except dynamodb.exceptions.ResourceNotFoundException:
        return None
    return name, _tags(dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", []))


def _bucket(client: Client, name: str, region: str):
    s3 = client("s3", region)
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return None
        if _code(exc) in ("403", "AccessDenied", "Forbidden"):
            from .cloud import DeployError  # (cloud.py imports this module)

            raise DeployError(f"the bucket name {name} is taken, by another account or out "
                              "of these credentials' reach: bucket names are global, so "
                              "pick another one") from None
        raise
    try:
        return name, _tags(s3.get_bucket_tagging(Bucket=name).get("TagSet", []))
    except ClientError:
        return name, {}         # NoSuchTagSet: a bucket without tags


def _parameter(client: Client, name: str, region: str):
    ssm = client("ssm", region)
    try:
        ssm.get_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        return None
    return name, _tags(ssm.list_tags_for_resource(ResourceType="Parameter",
                                                  ResourceId=name).get("TagList", []))


def _log_group(client: Client, name: str, region: str):
    logs = client("logs", region)
    groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    if not any(g.get("logGroupName") == name for g in groups):
        return None
    return name, _tags(logs.list_tags_log_group(logGroupName=name).get("tags", {}))


def _queue(client: Client, name: str, region: str):
    sqs = client("sqs", region)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if "NonExistentQueue" in _code(exc) or "QueueDoesNotExist" in _code(exc):
            return None
        raise
    return url, _tags(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}))


def _secret(client: Client, name: str, region: str):
    secrets = client("secretsmanager", region)
    try:
        found = secrets.describe_secret(SecretId=name)
    except secrets.exceptions.ResourceNotFoundException:
        return None
    return found["ARN"], _tags(found.get("Tags", []))


def _key(client: Client, key_id: str, region: str):
    kms = client("kms", region)
    try:
        found = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        return None
    if found.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
        return None
    return found["KeyId"], _tags(kms.list_resource_tags(KeyId=key_id).get("Tags", []))


LOOKUPS = {"AWS::DynamoDB::Table": _table, "AWS::S3::Bucket": _bucket,
           "AWS::SSM::Parameter": _parameter, "AWS::Logs::LogGroup": _log_group,
           "AWS::SQS::Queue": _queue, "AWS::SecretsManager::Secret": _secret,
           "AWS::KMS::Key": _key}
