"""The customers API, as the issue describes it, on the committed templates."""

from __future__ import annotations

import json

from .conftest import REPO
from .templates import resources, template

BUILD = "build/dev/customers"
KEY = f"{BUILD}/01-key.yaml"
DATA = f"{BUILD}/02-data.yaml"
API = f"{BUILD}/03-api.yaml"


def test_stacks_and_order():
    manifest = json.loads((REPO / BUILD / "manifest.json").read_text())
    assert [s["stack_name"] for s in manifest["stacks"]] == [
        "customers-dev-key", "customers-dev-data", "customers-dev-api"]
    api = manifest["stacks"][2]
    assert api["after_deploy"] == [{"store_api_key": {
        "api_key": {"stack": "customers-dev-api", "output": "ApiKeyId"},
        "parameter": {"stack": "customers-dev-api", "output": "ApiKeyParameter"},
        "kms_key": {"stack": "customers-dev-key", "output": "KeyArn"}}}]


def test_kms_key_rotates_and_names_the_function_role():
    key = resources(KEY)["Key"]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    admin = statements["AccountAdministratorsKeepControl"]
    assert "kms:PutKeyPolicy" in admin["Action"] and "kms:Decrypt" not in admin["Action"]
    user = statements["User1UsesKey"]
    assert user["Principal"] == {"AWS": [{"Fn::GetAtt": ["FunctionRole", "Arn"]}]}
    assert {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"} <= set(user["Action"])
    assert user["Condition"]["StringEquals"]["kms:ViaService"] == [
        {"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"},
        {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}]
    assert resources(KEY)["KeyAlias"]["Properties"]["AliasName"] == "alias/customers-dev"


def test_table_is_encrypted_with_the_key():
    props = resources(DATA)["Table"]["Properties"]
    assert props["TableName"] == "DA_Serverless"
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS",
                                         "KMSMasterKeyId": {"Ref": "KeyKeyArn"}}
    parameter = resources(DATA)["TableNameParameter"]["Properties"]
    assert parameter["Value"] == {"Ref": "Table"} and parameter["Name"] == \
        "/customers/dev/db-name"


def test_db_name_is_resolved_from_ssm_not_a_literal():
    variables = resources(API)["Create"]["Properties"]["Environment"]["Variables"]
    assert variables == {"DB_NAME": {"Ref": "DbNameFromSsm"}}
    parameter = template(API)["Parameters"]["DbNameFromSsm"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert "DA_Serverless" not in (REPO / API).read_text()


def test_function_may_only_put_items_use_the_key_and_log():
    policy = resources(API)["CreateRolePolicy"]["Properties"]["PolicyDocument"]
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == ["dynamodb:PutItem", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
                       "logs:CreateLogStream", "logs:PutLogEvents",
                       "xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    assert resources(API)["Create"]["Properties"]["Role"] == {"Ref": "KeyFunctionRoleArn"}


def test_post_requires_an_api_key_bound_through_a_usage_plan():
    method = resources(API, "AWS::ApiGateway::Method")
    (post,) = method.values()
    assert post["Properties"]["HttpMethod"] == "POST"
    assert post["Properties"]["ApiKeyRequired"] is True
    assert post["Properties"]["Integration"]["Type"] == "AWS_PROXY"
    plan = resources(API)["ApiUsagePlan"]["Properties"]
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "Api"}, "Stage": {"Ref": "ApiStage"}}]
    assert plan["Throttle"] and plan["Quota"]["Period"] == "DAY"
    key = resources(API)["ApiUsagePlanKey"]["Properties"]
    assert key == {"KeyId": {"Ref": "ApiKey"}, "KeyType": "API_KEY",
                   "UsagePlanId": {"Ref": "ApiUsagePlan"}}
    stage = resources(API)["ApiStage"]["Properties"]
    assert stage["StageName"] == "dev" and "DestinationArn" in stage["AccessLogSetting"]
    (permission,) = resources(API, "AWS::Lambda::Permission").values()
    assert permission["Properties"]["SourceArn"]["Fn::Sub"].endswith("/*/POST/customers")


def test_deployment_changes_when_the_api_changes(mini):
    from generator.build import synth

    from .conftest import write_files

    def deployment_ids(methods: str) -> list[str]:
        write_files(mini, {"blueprints/shop/03-rest.yaml":
                           "resources:\n  Api:\n    kind: rest_api\n    stage: dev\n"
                           f"    paths:\n      /orders:\n{methods}"})
        result = synth(str(mini), cache_path=None, run_lint=False, write=False)
        body = next(s.text for s in result.stacks if s.stage_name == "rest").decode()
        return [line.strip(" :") for line in body.splitlines()
                if line.startswith("  ApiDeployment")]

    one = deployment_ids("        POST: {function: arn:aws:lambda:eu-west-1:1:function:a}\n")
    two = deployment_ids("        POST: {function: arn:aws:lambda:eu-west-1:1:function:a}\n"
                         "        GET: {function: arn:aws:lambda:eu-west-1:1:function:a}\n")
    assert len(one) == len(two) == 1 and one != two
    assert one == deployment_ids("        POST: {function: "
                                 "arn:aws:lambda:eu-west-1:1:function:a}\n")


def test_outputs():
    outputs = template(API)["Outputs"]
    assert outputs["CustomersUrl"]["Value"]["Fn::Sub"].endswith("/dev/customers")
    assert outputs["ApiKeyParameter"]["Value"] == "/customers/dev/api-key"


def test_log_groups_are_encrypted_with_the_key_which_logs_may_use_only_for_this_app():
    groups = resources(API, "AWS::Logs::LogGroup")
    assert set(groups) == {"CreateLogGroup", "ApiLogGroup"}
    for body in groups.values():
        assert body["Properties"]["KmsKeyId"] == {"Ref": "KeyKeyArn"}
    policy = resources(KEY)["Key"]["Properties"]["KeyPolicy"]
    (logs,) = [s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsEncryptsNamedLogGroups"]
    assert logs["Principal"] == {"Service": [{"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}]}
    assert "kms:CreateGrant" not in logs["Action"] and all("*" not in a for a in logs["Action"])
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": [
        {"Fn::Sub": ["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                     "log-group:${Name}", {"Name": "customers-dev-*"}]}]}}
