"""The bootstrap stack, one per region: the asset bucket (Lambda zips, large templates)
and the table holding deploy locks (`lock.py`) and the record of what clean retained
(`ledger.py`)."""

from __future__ import annotations

from troposphere import Output, Ref, Template, dynamodb, s3

from ..awsparts import deny_insecure_transport, private_bucket
from ..dump import to_yaml
from ..iam import document
from .cloud import STATE_TABLE
from .manifest import StackSpec

STACK = "blueprint-assets"


def bootstrap_stack(region: str) -> StackSpec:
    template = Template(Description="Assets for blueprint deploys (Lambda code, large "
                                    "templates): private, encrypted, TLS only")
    template.set_version("2010-09-09")
    bucket = private_bucket("Assets", versioned=False, retain=True)
    bucket.LifecycleConfiguration = s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
        Id="AbortIncompleteUploads", Status="Enabled",
        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
            DaysAfterInitiation=1))])
    template.add_resource(bucket)
    template.add_resource(s3.BucketPolicy("AssetsPolicy", Bucket=Ref(bucket),
                                          PolicyDocument=document(
                                              [deny_insecure_transport("Assets")])))
    template.add_resource(dynamodb.Table(
        "State", TableName=STATE_TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName="id",
                                                           AttributeType="S")],
        KeySchema=[dynamodb.KeySchema(AttributeName="id", KeyType="HASH")]))
    template.add_output(Output("BucketName", Value=Ref(bucket)))
    return StackSpec("blueprint", "shared", "assets", STACK, region,
                     to_yaml(template.to_dict()), (), {}, (), (), {"blueprint:app": "assets"},
                     ("Assets",))
