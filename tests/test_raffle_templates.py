"""The raffle's five stacks, as the issue describes them, on the committed templates."""

from __future__ import annotations

import json

from .conftest import REPO
from .templates import resources, template

BUILD = "build/dev/raffle"
TABLE = f"{BUILD}/01-table.yaml"
FUNCTIONS = f"{BUILD}/02-functions.yaml"
TRUSTSTORE = f"{BUILD}/03-truststore.yaml"
API = f"{BUILD}/04-api.yaml"
SITE = f"{BUILD}/05-site.yaml"


def test_five_stacks_in_dependency_order():
    manifest = json.loads((REPO / BUILD / "manifest.json").read_text())
    names = [s["stack_name"] for s in manifest["stacks"]]
    assert names == ["raffle-dev-table", "raffle-dev-functions", "raffle-dev-truststore",
                     "raffle-dev-api", "raffle-dev-site"]
    regions = {s["stage"]: s["region"] for s in manifest["stacks"]}
    assert regions["site"] == "us-east-1" and regions["api"] == "eu-west-1"


def test_entries_table():
    table = resources(TABLE)["Entries"]
    props = table["Properties"]
    assert props["TableName"] == "dynamodb-table-lottery"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "email", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "email", "AttributeType": "S"}]
    assert props["Tags"] == [{"Key": "Name", "Value": "dynamodb-table-lottery"}]


def _actions(logical_id: str) -> dict:
    role = resources(FUNCTIONS)[f"{logical_id}Role"]["Properties"]
    granted = {}
    for statement in role["Policies"][0]["PolicyDocument"]["Statement"]:
        for resource in statement["Resource"]:
            granted.setdefault(json.dumps(resource, sort_keys=True), []).extend(
                statement["Action"])
    return granted


def test_each_function_has_exactly_the_table_actions_it_needs():
    table_arn = json.dumps({"Ref": "TableTableArn"})
    expected = {"Apply": ["dynamodb:ConditionCheckItem", "dynamodb:GetItem",
                          "dynamodb:PutItem", "dynamodb:UpdateItem"],
                "Count": ["dynamodb:GetItem"], "Draw": ["dynamodb:GetItem", "dynamodb:PutItem"]}
    for name, actions in expected.items():
        assert _actions(name)[table_arn] == actions
        function = resources(FUNCTIONS)[name]["Properties"]
        assert function["Runtime"] == "python3.12"
        assert function["Code"]["S3Key"].startswith(f"lambda/raffle_{name.lower()}/")
        assert function["Environment"]["Variables"] == {"TABLE_NAME": {"Ref": "TableTableName"}}


def test_truststore_bucket_is_versioned_and_uploaded_after_deploy():
    bucket = resources(TRUSTSTORE)["Truststore"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    manifest = json.loads((REPO / BUILD / "manifest.json").read_text())
    steps = [s["after_deploy"] for s in manifest["stacks"] if s["stage"] == "truststore"][0]
    assert steps == [{"upload_file": {"file": "build/ca/RootCA.pem", "key": "RootCA.pem",
                                      "bucket": {"stack": "raffle-dev-truststore",
                                                 "output": "TruststoreBucket"}}}]


def test_http_api_routes_permissions_and_domain():
    api = resources(API)
    assert api["Api"]["Properties"]["DisableExecuteApiEndpoint"] is True
    assert api["Api"]["Properties"]["CorsConfiguration"]["AllowOrigins"] == \
        ["https://areulucky.com"]
    stage = api["ApiStage"]["Properties"]
    assert stage["AutoDeploy"] is True and "DestinationArn" in stage["AccessLogSettings"]
    routes = {r["Properties"]["RouteKey"] for r in resources(API, "AWS::ApiGatewayV2::Route")
              .values()}
    assert routes == {"POST /apply", "GET /count", "POST /draw"}
    sources = sorted(p["Properties"]["SourceArn"]["Fn::Sub"].split(":${Api}/", 1)[1]
                     for p in resources(API, "AWS::Lambda::Permission").values())
    assert sources == ["*/GET/count", "*/POST/apply", "*/POST/draw",
                       "authorizers/${ApiAuthorizer}"]
    domain = api["ApiDomain"]["Properties"]
    assert domain["DomainName"] == "api.areulucky.com"
    assert domain["MutualTlsAuthentication"] == {
        "TruststoreUri": {"Ref": "TruststoreTruststoreUri"}}
    mapping = api["ApiDomainMapping1"]["Properties"]
    assert mapping["ApiMappingKey"] == "raffle" and mapping["Stage"] == {"Ref": "ApiStage"}
    assert api["ApiDomainRecord"]["Properties"]["Type"] == "A"
    assert template(API)["Outputs"]["ApiUrl"]["Value"] == "https://api.areulucky.com/raffle"


def test_certificates_validate_by_dns_in_the_domain_zone():
    for path, domain in ((API, "api.areulucky.com"), (SITE, "areulucky.com")):
        certificate = resources(path, "AWS::CertificateManager::Certificate")
        (body,) = certificate.values()
        assert body["Properties"]["ValidationMethod"] == "DNS"
        assert body["Properties"]["DomainValidationOptions"] == [{
            "DomainName": domain, "HostedZoneId": {"Ref": "HostedZoneAreuluckyCom"}}]


def test_site_bucket_readable_only_by_its_distribution():
    policy = resources(SITE)["SiteBucketPolicy"]["Properties"]["PolicyDocument"]
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allows == [{
        "Sid": "CloudFrontReadsThroughOriginAccessControl",
        "Action": ["s3:GetObject"], "Effect": "Allow",
        "Principal": {"Service": ["cloudfront.amazonaws.com"]},
        "Resource": [{"Fn::Sub": "${SiteBucket.Arn}/*"}],
        "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub":
            "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Site}"}}}}]
    config = resources(SITE)["Site"]["Properties"]["DistributionConfig"]
    assert config["Origins"][0]["OriginAccessControlId"] == {
        "Fn::GetAtt": ["SiteOriginAccess", "Id"]}
    assert config["Aliases"] == ["areulucky.com"] and config["DefaultRootObject"] == "apply.html"
    assert resources(SITE)["SiteRecord"]["Properties"]["AliasTarget"]["DNSName"] == {
        "Fn::GetAtt": ["Site", "DomainName"]}
