"""Security defaults, asserted on every committed template."""

from __future__ import annotations

import pytest

from generator.kinds.state_machine import LOG_DELIVERY, XRAY

from .templates import all_templates, policy_documents, resources

TEMPLATES = all_templates()


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("path", TEMPLATES)
def test_no_wildcard_actions_are_granted(path):
    for logical_id, document in policy_documents(path):
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                for action in _as_list(statement["Action"]):
                    assert "*" not in action, f"{path} {logical_id} allows {action}"


@pytest.mark.parametrize("path", TEMPLATES)
def test_no_broad_managed_policies(path):
    for body in resources(path, "AWS::IAM::Role").values():
        for arn in body["Properties"].get("ManagedPolicyArns", []):
            assert "FullAccess" not in str(arn) and "Administrator" not in str(arn)


@pytest.mark.parametrize("path", TEMPLATES)
def test_buckets_are_private_encrypted_and_tls_only(path):
    policies = resources(path, "AWS::S3::BucketPolicy")
    for logical_id, body in resources(path, "AWS::S3::Bucket").items():
        props = body["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True}
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert "WebsiteConfiguration" not in props and "AccessControl" not in props
        mine = [p for p in policies.values() if p["Properties"]["Bucket"] == {"Ref": logical_id}]
        assert len(mine) == 1, f"{logical_id} has no bucket policy"
        denies = [s for s in mine[0]["Properties"]["PolicyDocument"]["Statement"]
                  if s["Effect"] == "Deny"]
        assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": False}}


@pytest.mark.parametrize("path", TEMPLATES)
def test_no_resource_policy_allows_everyone(path):
    for logical_id, document in policy_documents(path):
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                assert statement.get("Principal") not in ("*", {"AWS": "*"}), logical_id


@pytest.mark.parametrize("path", TEMPLATES)
def test_tables_are_encrypted_recoverable_and_retained(path):
    for body in resources(path, "AWS::DynamoDB::Table").values():
        props = body["Properties"]
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert body["DeletionPolicy"] == body["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("path", TEMPLATES)
def test_tls_is_1_2_or_newer(path):
    for body in resources(path, "AWS::ApiGatewayV2::DomainName").values():
        for config in body["Properties"]["DomainNameConfigurations"]:
            assert config["SecurityPolicy"] == "TLS_1_2"
    for body in resources(path, "AWS::CloudFront::Distribution").values():
        config = body["Properties"]["DistributionConfig"]
        assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
        if config["ViewerCertificate"].get("CloudFrontDefaultCertificate"):
            # *.cloudfront.net: AWS sets the minimum TLS version; the template says so
            assert "Aliases" not in config
            assert "CKV_AWS_174" in {s["id"] for s in body["Metadata"]["checkov"]["skip"]}
            continue
        assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
        assert config["ViewerCertificate"]["SslSupportMethod"] == "sni-only"
        assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


@pytest.mark.parametrize("path", TEMPLATES)
def test_functions_write_logs_only_to_their_own_log_group(path):
    for logical_id, body in resources(path, "AWS::Lambda::Function").items():
        group = body["Properties"]["LoggingConfig"]["LogGroup"]
        assert group == {"Ref": f"{logical_id}LogGroup"}
        found = resources(path)
        if f"{logical_id}Role" in found:
            documents = [p["PolicyDocument"]
                         for p in found[f"{logical_id}Role"]["Properties"]["Policies"]]
        else:
            documents = [found[f"{logical_id}RolePolicy"]["Properties"]["PolicyDocument"]]
        log_statements = [s for d in documents for s in d["Statement"]
                          if any(a.startswith("logs:") for a in s["Action"])]
        assert log_statements == [{
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow",
            "Resource": [{"Fn::GetAtt": [f"{logical_id}LogGroup", "Arn"]}]}]
        assert resources(path)[f"{logical_id}LogGroup"]["Properties"]["RetentionInDays"] > 0


@pytest.mark.parametrize("path", TEMPLATES)
def test_log_groups_outlive_their_stack(path):
    for logical_id, body in resources(path, "AWS::Logs::LogGroup").items():
        assert body["DeletionPolicy"] == body["UpdateReplacePolicy"] == "Retain", logical_id
        assert body["Properties"]["RetentionInDays"] > 0


# What a state machine's role needs on '*': log delivery and X-Ray (no resource ARNs).
STATE_MACHINE_STAR = set(LOG_DELIVERY) | set(XRAY)


@pytest.mark.parametrize("path", TEMPLATES)
def test_functions_and_rest_stages_are_traced_and_only_xray_writes_take_any_resource(path):
    for logical_id, body in resources(path, "AWS::Lambda::Function").items():
        assert body["Properties"]["TracingConfig"] == {"Mode": "Active"}, logical_id
    for body in resources(path, "AWS::ApiGateway::Stage").values():
        assert body["Properties"]["TracingEnabled"] is True
    for logical_id, document in policy_documents(path):
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow" and "*" in _as_list(statement.get("Resource")):
                if statement.get("Principal"):  # a key policy: the key itself
                    continue
                if "Sid" not in statement and set(statement["Action"]) <= STATE_MACHINE_STAR:
                    assert resources(path)[logical_id]["Type"] == "AWS::IAM::Role"
                    continue
                assert statement == {"Sid": "XRayAcceptsOnlyResourceStar", "Effect": "Allow",
                                     "Action": ["xray:PutTelemetryRecords",
                                                "xray:PutTraceSegments"],
                                     "Resource": ["*"]}, logical_id


@pytest.mark.parametrize("path", TEMPLATES)
def test_buckets_and_distributions_log_into_a_retained_log_bucket(path):
    found = resources(path)
    buckets = resources(path, "AWS::S3::Bucket")
    for logical_id, body in buckets.items():
        if logical_id.endswith("Logs"):
            assert body["DeletionPolicy"] == "Retain"
            assert body["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
            policy = found[f"{logical_id}Policy"]["Properties"]["PolicyDocument"]
            (delivery,) = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
            assert delivery["Principal"] == {"Service": ["logging.s3.amazonaws.com"]}
            assert set(delivery["Condition"]) == {"ArnLike", "StringEquals"}
            continue
        target = body["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
        assert target in buckets and target.endswith("Logs"), logical_id
    for body in resources(path, "AWS::CloudFront::Distribution").values():
        logging = body["Properties"]["DistributionConfig"]["Logging"]
        assert logging["Bucket"]["Fn::GetAtt"][0] in buckets


TLS_ONLY = {"Bool": {"aws:SecureTransport": False}}


def _denied_without_tls(path: str, policy_type: str, key: str) -> set[str]:
    """Logical ids a resource policy of the template refuses plain HTTP to."""
    found = set()
    for body in resources(path, policy_type).values():
        for statement in body["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == TLS_ONLY:
                for target in statement["Resource"]:
                    found.add(next(iter(target.values())) if key == "Ref"
                              else target["Fn::GetAtt"][0])
    return {t if isinstance(t, str) else t[0] for t in found}


@pytest.mark.parametrize("path", TEMPLATES)
def test_queues_and_topics_are_encrypted_tls_only_and_queues_have_dead_letters(path):
    queues = resources(path, "AWS::SQS::Queue")
    for logical_id, body in queues.items():
        props = body["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
        assert body["DeletionPolicy"] == "Retain", logical_id
        if not logical_id.endswith("Dlq"):
            assert props["RedrivePolicy"]["deadLetterTargetArn"] == {
                "Fn::GetAtt": [f"{logical_id}Dlq", "Arn"]}
    assert _denied_without_tls(path, "AWS::SQS::QueuePolicy", "GetAtt") == set(queues)
    topics = resources(path, "AWS::SNS::Topic")
    for body in topics.values():
        assert body["Properties"]["KmsMasterKeyId"]
    assert _denied_without_tls(path, "AWS::SNS::TopicPolicy", "Ref") == set(topics)
