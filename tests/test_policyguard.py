"""The policy guard reads every built template, `raw` resources and roles included: each
violation is a located error on the blueprint line and nothing is written."""

from __future__ import annotations

import json
import random

import pytest

from generator.policyguard import STAR_ONLY, check_template

from .conftest import tree_digest, write_files

STAGE = "blueprints/shop/03-iam.yaml"


def raw_policy(statement: str, kind: str = "AWS::IAM::ManagedPolicy",
               key: str = "PolicyDocument") -> str:
    """A raw resource whose one statement is written on line 8 onwards."""
    return ("resources:\n"
            "  Wide:\n"
            "    kind: raw\n"
            f"    type: {kind}\n"
            "    properties:\n"
            f"      {key}:\n"
            "        Version: '2012-10-17'\n"
            "        Statement:\n"
            + "".join(f"          {line}\n" for line in statement.strip().split("\n")))


RAW = "resources.Wide.properties.PolicyDocument.Statement[0]"
VIOLATIONS = {
    "action star": (
        raw_policy("- Effect: Allow\n  Action: '*'\n  Resource: arn:aws:s3:::b/*"),
        f"10:21: {RAW}.Action: an Allow with the wildcard action '*' grants more than "
        "intended; name each action, e.g. s3:GetObject (policy guard)"),
    "service star": (
        raw_policy("- Effect: Allow\n  Action: [s3:GetObject, 's3:*']\n"
                   "  Resource: arn:aws:s3:::b/*"),
        f"10:36: {RAW}.Action[1]: an Allow with the wildcard action 's3:*'"),
    "partial wildcard": (
        raw_policy("- Effect: Allow\n  Action: s3:Get*\n  Resource: arn:aws:s3:::b/*"),
        f"10:21: {RAW}.Action: an Allow with the wildcard action 's3:Get*'"),
    "NotAction": (
        raw_policy("- Effect: Allow\n  NotAction: iam:CreateUser\n"
                   "  Resource: arn:aws:s3:::b"),
        f"10:24: {RAW}.NotAction: NotAction in an Allow grants everything it does not "
        "name; list what is allowed instead (policy guard)"),
    "NotResource": (
        raw_policy("- Effect: Allow\n  Action: s3:GetObject\n  NotResource: arn:aws:s3:::b"),
        f"11:26: {RAW}.NotResource: NotResource in an Allow"),
    "every resource": (
        raw_policy("- Effect: Allow\n  Action: [dynamodb:GetItem, xray:PutTraceSegments]\n"
                   "  Resource: '*'"),
        f"11:23: {RAW}.Resource: dynamodb:GetItem allowed on every resource ('*'); name "
        "the resources (only cloudwatch:PutMetricData"),
    "public bucket policy": (
        raw_policy("- Effect: Allow\n  Principal: '*'\n  Action: s3:GetObject\n"
                   "  Resource: arn:aws:s3:::b/*", "AWS::S3::BucketPolicy"),
        f"10:24: {RAW}.Principal: an Allow to every principal ('*') without a Condition "
        "naming who"),
    "public principal as AWS list": (
        raw_policy("- Effect: Allow\n  Principal: {AWS: ['*']}\n  Action: sqs:SendMessage\n"
                   "  Resource: arn:aws:sqs:eu-west-1:123456789012:q", "AWS::SQS::QueuePolicy"),
        f"10:24: {RAW}.Principal: an Allow to every principal"),
    "assume role by anyone": (
        raw_policy("- Effect: Allow\n  Principal: {AWS: '*'}\n  Action: sts:AssumeRole",
                   "AWS::IAM::Role", "AssumeRolePolicyDocument"),
        "10:24: resources.Wide.properties.AssumeRolePolicyDocument.Statement[0].Principal: "
        "an Allow to every principal"),
}


@pytest.mark.parametrize("case", VIOLATIONS, ids=str)
def test_each_violation_in_a_raw_resource_is_located(case, mini, cli):
    stage, expected = VIOLATIONS[case]
    before = tree_digest(mini / "build")
    write_files(mini, {STAGE: stage})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1, run.out
    assert f"error: {STAGE}:{expected}" in run.err
    assert tree_digest(mini / "build") == before


MANAGED = {
    "plain": "arn:aws:iam::aws:policy/AdministratorAccess",
    "sub": "!Sub arn:${AWS::Partition}:iam::aws:policy/AmazonDynamoDBFullAccess",
    "join": "!Join ['', [arn:aws:iam::aws:policy/, PowerUserAccess]]",
}


@pytest.mark.parametrize("spelling", MANAGED, ids=str)
def test_admin_and_full_access_managed_policies_are_refused_however_spelled(spelling, mini,
                                                                            cli):
    write_files(mini, {STAGE: "resources:\n  Wide:\n    kind: raw\n    type: AWS::IAM::Role\n"
                              "    properties:\n      AssumeRolePolicyDocument: {}\n"
                              f"      ManagedPolicyArns:\n        - {MANAGED[spelling]}\n"})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert f"error: {STAGE}:8:11: resources.Wide.properties.ManagedPolicyArns[0]: the AWS " \
           "managed policy" in run.err
    assert "grants far more than one app needs" in run.err


def test_the_role_kind_is_guarded_too_when_the_name_is_built(mini, cli):
    write_files(mini, {STAGE: "resources:\n  Runner:\n    kind: role\n"
                              "    service: lambda.amazonaws.com\n"
                              "    managed_policies:\n"
                              "      - !Sub arn:${AWS::Partition}:iam::aws:policy/"
                              "AdministratorAccess\n"})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert f"error: {STAGE}:3:5: resources.Runner.Properties." \
           "ManagedPolicyArns[0]: the AWS managed policy AdministratorAccess" in run.err


def test_lambda_permission_for_anyone_is_refused():
    template = {"Resources": {"Open": {"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*"}}}}
    (found,) = check_template(template)
    assert (found.logical_id, found.path) == ("Open", ("Properties", "Principal"))
    template["Resources"]["Open"]["Properties"]["SourceArn"] = "arn:aws:execute-api:x"
    assert check_template(template) == []


ALLOWED = {
    "deny with wildcards": {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                            "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport":
                                                                    "false"}}},
    "public with a condition": {"Effect": "Allow", "Principal": {"Service": "x.amazonaws.com"},
                                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
    "service principal everyone-with-condition": {
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"aws:SourceArn": "a"}}},
}


@pytest.mark.parametrize("case", ALLOWED, ids=str)
def test_what_a_reviewer_can_judge_passes(case):
    template = {"Resources": {"P": {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "PolicyDocument": {"Statement": [ALLOWED[case]]}}}}}
    assert check_template(template) == []


@pytest.mark.parametrize("action", sorted(STAR_ONLY))
def test_actions_that_only_accept_every_resource_may_use_it(action):
    template = {"Resources": {"R": {"Type": "AWS::IAM::Policy", "Properties": {
        "PolicyDocument": {"Statement": {"Effect": "Allow", "Action": action,
                                         "Resource": "*"}}}}}}
    assert check_template(template) == []


def test_kms_key_policies_name_the_key_as_star_and_pass():
    template = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                       "Action": ["kms:Decrypt"], "Resource": "*"}]}}}}}
    assert check_template(template) == []


def policy(statement: dict, kind: str = "AWS::IAM::ManagedPolicy",
           key: str = "PolicyDocument") -> dict:
    return {"Resources": {"R": {"Type": kind, "Properties": {
        key: {"Version": "2012-10-17", "Statement": [statement]}}}}}


ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
# Each was found to pass by a red-team review; each must now be refused.
BYPASSES = {
    "Effect as !If": policy({**ADMIN, "Effect": {"Fn::If": ["C", "Allow", "Deny"]}}),
    "Effect as !Sub": policy({**ADMIN, "Effect": {"Fn::Sub": "Allow"}}),
    "lower-case effect": policy({**ADMIN, "Effect": "allow"}),
    "Statement as !If": {"Resources": {"R": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "PolicyDocument": {"Statement": {"Fn::If": ["C", [ADMIN], []]}}}}}},
    "document as a JSON string": {"Resources": {"R": {"Type": "AWS::IAM::ManagedPolicy",
                                                      "Properties": {"PolicyDocument": json.dumps(
                                                          {"Statement": [ADMIN]})}}}},
    "document as !Sub": {"Resources": {"R": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "PolicyDocument": {"Fn::Sub": json.dumps({"Statement": [ADMIN]})}}}}},
    "? wildcards": policy({"Effect": "Allow", "Action": "iam:????????????",
                           "Resource": "arn:aws:iam::123456789012:role/x"}),
    "action as an intrinsic": policy({"Effect": "Allow", "Action": {"Fn::Join": [
        "", ["iam", ":*"]]}, "Resource": "arn:aws:iam::123456789012:role/x"}),
    "every resource through !Join": policy({"Effect": "Allow", "Action": "iam:PassRole",
                                            "Resource": {"Fn::Join": ["", ["*"]]}}),
    "every resource as an ARN": policy({"Effect": "Allow", "Action": "iam:CreateAccessKey",
                                        "Resource": "arn:aws:*:*:*:*"}),
    "NotPrincipal": policy({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:x"},
                            "Action": "sns:Publish", "Resource": "arn:aws:sns:x"},
                           "AWS::SNS::TopicPolicy", "PolicyDocument"),
    "a condition naming nobody": policy({
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        "AWS::S3::BucketPolicy"),
    "everyone inside !Split": policy({"Effect": "Allow", "Principal": {
        "AWS": {"Fn::Split": [",", "*"]}}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*"}, "AWS::S3::BucketPolicy"),
    "another account trusted": policy({"Effect": "Allow", "Principal": {
        "AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"},
        "AWS::IAM::Role", "AssumeRolePolicyDocument"),
    "OpenSearch access policy": policy(ADMIN | {"Principal": "*"},
                                       "AWS::OpenSearchService::Domain", "AccessPolicies"),
    "EFS file system policy": policy(ADMIN | {"Principal": "*"}, "AWS::EFS::FileSystem",
                                     "FileSystemPolicy"),
    "event bus policy": {"Resources": {"R": {"Type": "AWS::Events::EventBusPolicy",
                                             "Properties": {"StatementId": "s", "Statement": {
                                                 "Effect": "Allow", "Principal": "*",
                                                 "Action": "events:PutEvents",
                                                 "Resource": "arn:aws:events:x"}}}}},
    "AWSLambda_FullAccess": {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AWSLambda_FullAccess"]}}}},
    "a job-function policy": {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/job-function/SystemAdministrator"]}}}},
    "SecretsManagerReadWrite": {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/SecretsManagerReadWrite"]}}}},
    "a split admin name": {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "ManagedPolicyArns": [{"Fn::Join": ["", ["arn:aws:iam::aws:policy/Adminis",
                                                 "tratorAccess"]]}]}}}},
    "Lambda permission with NoValue": {"Resources": {"R": {
        "Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": "f", "Principal": "*",
            "SourceAccount": {"Ref": "AWS::NoValue"}}}}},
    "Lambda permission principal as !Sub": {"Resources": {"R": {
        "Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": "f",
            "Principal": {"Fn::Sub": "*"}}}}},
    "a public function URL": {"Resources": {"R": {"Type": "AWS::Lambda::Url", "Properties": {
        "AuthType": "NONE", "TargetFunctionArn": "arn:f"}}}},
    "a nested stack": {"Resources": {"R": {"Type": "AWS::CloudFormation::Stack", "Properties": {
        "TemplateURL": "https://attacker.s3.amazonaws.com/t.yaml"}}}},
    "a custom resource": {"Resources": {"R": {"Type": "Custom::Anything", "Properties": {
        "ServiceToken": "arn:aws:sns:us-east-1:999999999999:t"}}}},
    "an include transform": {"Resources": {"R": {"Type": "AWS::SNS::Topic", "Properties": {
        "Fn::Transform": {"Name": "AWS::Include",
                          "Parameters": {"Location": "s3://attacker/x"}}}}}},
    "an access key": {"Resources": {"R": {"Type": "AWS::IAM::AccessKey",
                                          "Properties": {"UserName": "admin"}}}},
    "a user added to a group": {"Resources": {"R": {
        "Type": "AWS::IAM::UserToGroupAddition",
        "Properties": {"GroupName": "Admins", "Users": ["me"]}}}},
    "a policy on the deploy role": {"Resources": {"R": {"Type": "AWS::IAM::Policy",
                                                        "Properties": {
        "PolicyName": "p", "Roles": ["ci-deploy-role"], "PolicyDocument": {"Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}}}}},
    "a secret copied into a parameter": {"Resources": {"R": {"Type": "AWS::SSM::Parameter",
                                                             "Properties": {
        "Type": "String",
        "Value": "{{resolve:secretsmanager:prod/db:SecretString:password}}"}}}},
}


@pytest.mark.parametrize("case", BYPASSES, ids=str)
def test_each_known_bypass_is_refused(case):
    assert check_template(BYPASSES[case]), f"{case} passed the guard"


def test_the_deploy_review_reads_odd_policies_without_crashing():
    from generator.deploy.models import Change
    from generator.deploy.security import review

    new = BYPASSES["Effect as !If"]["Resources"]
    found = review([Change("Add", "R", "AWS::IAM::ManagedPolicy", "")], {}, new)
    assert found and found[0].rows


def test_the_account_pinned_for_the_environment_may_be_trusted():
    trusted = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                      "Action": "sts:AssumeRole"}, "AWS::IAM::Role", "AssumeRolePolicyDocument")
    assert check_template(trusted, account="123456789012") == []
    assert check_template(trusted, account="111111111111")


HIDDEN_IN_ODD_STYLES = {
    "quoted, with a colon and an apostrophe": "it's {{resolve:secretsmanager:db}}: yes",
    "in a literal block": "first line\n{{resolve:ssm-secure:/db/password}}\nlast line\n",
    "beside non-ASCII and a tab": "é\t{{resolve:secretsmanager:db:SecretString:pw}}",
    "a whole JSON string": json.dumps({"pw": "{{resolve:secretsmanager:db}}"}),
    "between characters YAML escapes": "\x85\u2028{{resolve:ssm-secure:p}}\ufeff\x00",
}


def _parameter(value: str, **extra) -> dict:
    return {"Resources": {"R": {"Type": "AWS::SSM::Parameter",
                                "Properties": {"Type": "String", "Value": value, **extra}}}}


@pytest.mark.parametrize("case", [*BYPASSES, *HIDDEN_IN_ODD_STYLES, "a transform deep in a list"],
                         ids=str)
def test_the_written_template_never_hides_a_violation_from_the_guard(case):
    """The synth hands the guard the template's YAML to skip a look where it holds no
    transform and no secret reference: every known bypass is still found the same way,
    whatever style the YAML writer chose for the string."""
    from generator.dump import to_yaml

    template = BYPASSES.get(case) or (
        _parameter("x", Tags={"k": [{"nested": {"Fn::Transform": "x"}}]})
        if case == "a transform deep in a list" else _parameter(HIDDEN_IN_ODD_STYLES[case]))
    found = check_template(template, text=to_yaml(template))
    assert found and found == check_template(template)


def test_no_secret_reference_in_any_string_is_hidden_by_its_yaml_style():
    """Seeded: the reference between random characters (quotes, escapes, line breaks,
    non-ASCII, YAML indicators) is still found through the written text."""
    from generator.dump import to_yaml

    chance = random.Random(14)
    alphabet = "ab :#'\"\\\n\t-?&*!|>%@`{}[],é\x85\u2028\ufeff\x00 "
    for _ in range(400):
        def noise() -> str:
            return "".join(chance.choice(alphabet) for _ in range(chance.randrange(8)))
        kind = chance.choice(["secretsmanager", "ssm-secure"])
        template = _parameter(f"{noise()}{{{{resolve:{kind}:x}}}}{noise()}")
        text = to_yaml(template)
        assert check_template(template, text=text) == check_template(template) != [], text


def test_without_a_hint_in_the_text_the_look_is_skipped(monkeypatch):
    import generator.policyguard as guard

    template = BYPASSES["a secret copied into a parameter"]
    monkeypatch.setattr(guard.json, "dumps", lambda *_: "{{resolve:secretsmanager:x}}")
    assert check_template(template, text=b"Resources: {}\n") == []
    assert check_template(template)            # without the text, the look is made
