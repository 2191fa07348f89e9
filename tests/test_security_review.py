"""The security review: every change that widens access or drops a protection is listed
(and so needs consent); changes that touch nothing of the kind are not."""

from __future__ import annotations

import pytest

from generator.deploy.models import Change
from generator.deploy.security import PROTECTIONS, REMOVAL_WEAKENS, review

TLS_ONLY = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
            "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
READ_FROM_CDN = {"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                 "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
                 "Condition": {"StringEquals": {"AWS:SourceArn": "arn:dist"}}}


def resource(kind: str, **props) -> dict:
    return {"Type": kind, "Properties": props}


def policy(*statements) -> dict:
    return resource("AWS::S3::BucketPolicy", Bucket="b",
                    PolicyDocument={"Version": "2012-10-17", "Statement": list(statements)})


def rows_for(kind: str, old: dict | None, new: dict | None, action: str = "Modify") -> list:
    change = Change(action, "R", kind, "False" if action == "Modify" else "")
    found = review([change], {"R": old} if old else {}, {"R": new} if new else {})
    return [row for item in found for row in item.rows]


# One case per protection row: (type, property path, protected value, relaxed value).
RELAXED = [
    ("AWS::ApiGateway::Method", ("ApiKeyRequired",), True, False),
    ("AWS::ApiGateway::Method", ("AuthorizationType",), "CUSTOM", "NONE"),
    ("AWS::ApiGateway::Method", ("AuthorizerId",), "abc", None),
    ("AWS::ApiGatewayV2::Route", ("ApiKeyRequired",), True, None),
    ("AWS::ApiGatewayV2::Route", ("AuthorizationType",), "CUSTOM", "NONE"),
    ("AWS::ApiGatewayV2::Route", ("AuthorizerId",), {"Ref": "Organiser"}, None),
    ("AWS::ApiGateway::RestApi", ("DisableExecuteApiEndpoint",), True, False),
    ("AWS::ApiGatewayV2::Api", ("DisableExecuteApiEndpoint",), True, None),
    ("AWS::ApiGatewayV2::Api", ("CorsConfiguration",), {"AllowOrigins": ["https://a"]},
     {"AllowOrigins": ["*"]}),
    ("AWS::ApiGateway::DomainName", ("MutualTlsAuthentication",),
     {"TruststoreUri": "s3://t/RootCA.pem"}, None),
    ("AWS::ApiGateway::DomainName", ("SecurityPolicy",), "TLS_1_2", "TLS_1_0"),
    ("AWS::ApiGatewayV2::DomainName", ("MutualTlsAuthentication",),
     {"TruststoreUri": "s3://t/RootCA.pem"}, None),
    ("AWS::ApiGatewayV2::DomainName", ("DomainNameConfigurations",),
     [{"SecurityPolicy": "TLS_1_2"}], [{"SecurityPolicy": "TLS_1_0"}]),
    ("AWS::CloudFront::Distribution", ("DistributionConfig", "DefaultCacheBehavior",
                                       "ViewerProtocolPolicy"), "redirect-to-https", "allow-all"),
    ("AWS::CloudFront::Distribution", ("DistributionConfig", "CacheBehaviors"),
     [{"ViewerProtocolPolicy": "https-only"}], [{"ViewerProtocolPolicy": "allow-all"}]),
    ("AWS::CloudFront::Distribution", ("DistributionConfig", "ViewerCertificate"),
     {"MinimumProtocolVersion": "TLSv1.2_2021"}, {"MinimumProtocolVersion": "TLSv1"}),
    ("AWS::S3::Bucket", ("BucketEncryption",), {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}, None),
    ("AWS::S3::Bucket", ("PublicAccessBlockConfiguration",), {"BlockPublicAcls": True},
     {"BlockPublicAcls": False}),
    ("AWS::S3::Bucket", ("CorsConfiguration",), {"CorsRules": [{"AllowedOrigins": ["a"]}]},
     {"CorsRules": [{"AllowedOrigins": ["*"]}]}),
    ("AWS::DynamoDB::Table", ("SSESpecification",), {"SSEEnabled": True}, None),
    ("AWS::DynamoDB::Table", ("PointInTimeRecoverySpecification",),
     {"PointInTimeRecoveryEnabled": True}, {"PointInTimeRecoveryEnabled": False}),
    ("AWS::SQS::Queue", ("KmsMasterKeyId",), "alias/app", None),
    ("AWS::SQS::Queue", ("SqsManagedSseEnabled",), True, False),
    ("AWS::SQS::Queue", ("RedrivePolicy",), {"maxReceiveCount": 5}, None),
    ("AWS::ApiGatewayV2::Authorizer", ("JwtConfiguration",), {"Audience": ["a"]},
     {"Audience": ["a", "b"]}),
    ("AWS::ApiGateway::Stage", ("MethodSettings",), [{"ThrottlingRateLimit": 5}], None),
    ("AWS::ApiGateway::Stage", ("TracingEnabled",), True, False),
    ("AWS::StepFunctions::StateMachine", ("LoggingConfiguration",), {"Level": "ALL"},
     {"Level": "OFF"}),
    ("AWS::StepFunctions::StateMachine", ("TracingConfiguration",), {"Enabled": True},
     None),
    ("AWS::SNS::Subscription", ("FilterPolicy",), {"type": ["a"]}, None),
    ("AWS::SNS::Topic", ("KmsMasterKeyId",), "alias/app", None),
    ("AWS::Logs::LogGroup", ("KmsKeyId",), "arn:key", None),
    ("AWS::Logs::LogGroup", ("RetentionInDays",), 30, None),
    ("AWS::KMS::Key", ("EnableKeyRotation",), True, False),
    ("AWS::Lambda::Function", ("KmsKeyArn",), "arn:key", None),
    ("AWS::Lambda::Url", ("AuthType",), "AWS_IAM", "NONE"),
    ("AWS::Lambda::Url", ("Cors",), {"AllowOrigins": ["https://a"]}, {"AllowOrigins": ["*"]}),
    ("AWS::SecretsManager::Secret", ("KmsKeyId",), "arn:key", None),
]


def _set(path: tuple, value) -> dict:
    props: dict = {}
    if value is None:
        return props
    node = props
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return props


@pytest.mark.parametrize("kind,path,protected,relaxed", RELAXED,
                         ids=[f"{k.split('::', 1)[1]}.{'.'.join(p)}" for k, p, _, _ in RELAXED])
def test_each_relaxed_protection_is_a_security_change(kind, path, protected, relaxed):
    old = resource(kind, Other=1, **_set(path, protected))
    new = resource(kind, Other=1, **_set(path, relaxed))
    (row,) = rows_for(kind, old, new)
    assert row.startswith("~ ") and f"({'.'.join(path)})" in row
    assert row.endswith("(none)") if relaxed is None else "(none)" not in row
    assert rows_for(kind, old, resource(kind, Other=2, **_set(path, protected))) == []


def test_every_listed_protection_has_a_case():
    listed = {(kind, path) for kind, rows in PROTECTIONS.items() for path, _ in rows}
    assert listed == {(kind, path) for kind, path, _, _ in RELAXED}


@pytest.mark.parametrize("kind", sorted(REMOVAL_WEAKENS))
def test_removing_a_resource_policy_or_authorizer_is_a_security_change(kind):
    (row,) = rows_for(kind, resource(kind), None, action="Remove")
    assert row == f"- {REMOVAL_WEAKENS[kind]}"


def test_removing_a_role_or_table_is_not_a_security_change():
    assert review([Change("Remove", "R", "AWS::IAM::Role", "")], {}, {}) == []
    assert review([Change("Remove", "T", "AWS::DynamoDB::Table", "")], {}, {}) == []


def test_a_dropped_deny_statement_is_listed_whole():
    rows = rows_for("AWS::S3::BucketPolicy", policy(READ_FROM_CDN, TLS_ONLY),
                    policy(READ_FROM_CDN))
    assert rows == ['- drops Deny s3:* on arn:aws:s3:::b/* when '
                    '{"Bool": {"aws:SecureTransport": "false"}}']


def test_a_dropped_condition_is_listed_and_shows_as_a_new_allow():
    public = {k: v for k, v in READ_FROM_CDN.items() if k != "Condition"}
    rows = rows_for("AWS::S3::BucketPolicy", policy(READ_FROM_CDN, TLS_ONLY),
                    policy(public, TLS_ONLY))
    assert '+ allow s3:GetObject on "arn:aws:s3:::b/*" to ' \
           '{"Service": "cloudfront.amazonaws.com"}' in rows
    assert '- changes or drops the condition {"StringEquals": {"AWS:SourceArn": "arn:dist"}} ' \
           'of an Allow of s3:GetObject' in rows


def test_a_dropped_deny_in_a_key_policy_and_a_role_is_listed_too():
    deny = {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}
    old = resource("AWS::KMS::Key", KeyPolicy={"Statement": [deny]})
    assert rows_for("AWS::KMS::Key", old, resource("AWS::KMS::Key", KeyPolicy={"Statement": []}))
    role_old = resource("AWS::IAM::Role", Policies=[{"PolicyName": "p", "PolicyDocument": {
        "Statement": [deny]}}])
    assert rows_for("AWS::IAM::Role", role_old, resource("AWS::IAM::Role", Policies=[])) == [
        '- drops Deny kms:Decrypt on *']


def test_unchanged_protections_and_unrelated_properties_are_not_listed():
    old = resource("AWS::DynamoDB::Table", SSESpecification={"SSEEnabled": True},
                   BillingMode="PAY_PER_REQUEST")
    new = resource("AWS::DynamoDB::Table", SSESpecification={"SSEEnabled": True},
                   BillingMode="PROVISIONED")
    assert review([Change("Modify", "R", "AWS::DynamoDB::Table", "False")],
                  {"R": old}, {"R": new}) == []
