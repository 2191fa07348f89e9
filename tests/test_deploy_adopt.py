"""Adopt, never recreate: import planning as data, and the flow on botocore's Stubber."""

from __future__ import annotations

import dataclasses
import json

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from generator.deploy.adopt import (
    Adoption,
    Candidate,
    Conflict,
    Existing,
    candidates,
    import_template,
    plan_adoptions,
)
from generator.deploy.models import HASH_TAG

from .test_deploy_stubbed import NAME, REGION, SPEC, Scripted, change_set, stack

TEMPLATE = b"""\
Parameters:
  KeyArn: {Type: String}
Resources:
  Entries:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      TableName: entries
      SSESpecification: {KMSMasterKeyId: !Ref KeyArn}
  Generated:
    Type: AWS::DynamoDB::Table
    Properties: {KeySchema: []}
  Named:
    Type: AWS::SSM::Parameter
    Properties: {Name: /app/x, Value: v, Type: String}
  Built:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "${AWS::StackName}-b"}
  Fn:
    Type: AWS::Lambda::Function
    Properties: {FunctionName: f}
Outputs:
  Name: {Value: !Ref Entries}
"""


def test_only_literally_named_data_holding_resources_are_candidates():
    assert candidates(TEMPLATE, set()) == [
        Candidate("Entries", "AWS::DynamoDB::Table", "entries"),
        Candidate("Named", "AWS::SSM::Parameter", "/app/x")]
    assert candidates(TEMPLATE, {"Entries"}) == [
        Candidate("Named", "AWS::SSM::Parameter", "/app/x")]


def test_absent_is_created_unowned_is_adopted_owned_elsewhere_is_a_conflict():
    table = Candidate("Entries", "AWS::DynamoDB::Table", "entries")
    param = Candidate("Named", "AWS::SSM::Parameter", "/app/x")
    queue = Candidate("Q", "AWS::SQS::Queue", "q")
    adopt, conflicts = plan_adoptions(NAME, {
        table: Existing("entries"), param: Existing("/app/x", owner="other-stack"),
        queue: Existing("https://sqs/q", owner=NAME)})
    assert adopt == [Adoption("Entries", "AWS::DynamoDB::Table", "entries",
                              {"TableName": "entries"}),
                     Adoption("Q", "AWS::SQS::Queue", "q", {"QueueUrl": "https://sqs/q"})]
    assert conflicts == [Conflict("Named", "/app/x", "other-stack")]
    assert plan_adoptions(NAME, {table: None}) == ([], [])
    assert adopt[0].line == "adopt Entries (entries): it exists and holds data"


def test_the_import_template_holds_what_is_deployed_plus_the_adopted_resources():
    adopt = [Adoption("Named", "AWS::SSM::Parameter", "/app/x", {"Name": "/app/x"})]
    old = {"Resources": {"Entries": {"Type": "AWS::DynamoDB::Table"}},
           "Outputs": {"Old": {"Value": "x"}}}
    body = json.loads(import_template(TEMPLATE, old, adopt))
    assert body["Resources"] == {"Entries": {"Type": "AWS::DynamoDB::Table"},
                                 "Named": {"Type": "AWS::SSM::Parameter",
                                           "DeletionPolicy": "Retain",
                                           "Properties": {"Name": "/app/x", "Value": "v",
                                                          "Type": "String"}}}
    assert body["Outputs"] == {"Old": {"Value": "x"}}      # an import changes nothing else
    assert body["Parameters"] == {"KeyArn": {"Type": "String"}}
    first = json.loads(import_template(TEMPLATE, None, [
        Adoption("Entries", "AWS::DynamoDB::Table", "entries", {"TableName": "entries"})]))
    assert list(first["Resources"]) == ["Entries"] and "Outputs" not in first
    assert first["Resources"]["Entries"]["Properties"]["SSESpecification"] == {
        "KMSMasterKeyId": {"Ref": "KeyArn"}}


NAMED = b"""\
Resources:
  T:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties: {TableName: entries}
"""
ADOPTING = dataclasses.replace(SPEC, template=NAMED)


def with_table(script: Scripted, tags: dict) -> None:
    """The table `entries` exists, carrying these tags."""
    script.tables.add_response("describe_table", {"Table": {
        "TableName": "entries", "TableArn": "arn:aws:dynamodb:eu-west-1:1:table/entries"}})
    script.tables.add_response("list_tags_of_resource", {"Tags": [
        {"Key": k, "Value": v} for k, v in tags.items()]})


def test_a_retained_table_is_imported_then_updated_never_created():
    script = Scripted().missing()
    with_table(script, {"aws:cloudformation:stack-name": NAME,
                        "aws:cloudformation:logical-id": "T"})
    script.stub.add_client_error("describe_stack_resources", "ValidationError",
                                 "Stack for entries does not exist")
    script.missing()                                        # the stack its tags name: gone
    script.stub.add_response("create_change_set", {"Id": "i", "StackId": "id"}, {
        "StackName": NAME, "ChangeSetName": ANY, "ChangeSetType": "IMPORT",
        "TemplateBody": ANY, "Parameters": [], "Capabilities": ANY,
        "ResourcesToImport": [{"ResourceType": "AWS::DynamoDB::Table",
                               "LogicalResourceId": "T",
                               "ResourceIdentifier": {"TableName": "entries"}}]})
    (script.ok("describe_change_set", change_set())
     .ok("describe_stack_events", {"StackEvents": []})
     .ok("execute_change_set")
     .ok("describe_stack_events", {"StackEvents": []})
     .ok("describe_stacks", stack("IMPORT_COMPLETE"))
     .ok("describe_stacks", stack("IMPORT_COMPLETE"))
     .ok("list_change_sets", {"Summaries": []})
     .ok("create_change_set", {"Id": "cs", "StackId": "id"})
     .ok("describe_change_set", change_set("FAILED", "No updates are to be performed.", []))
     .ok("delete_change_set")
     .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: "x"})))
    script.spec = ADOPTING
    outcome, out = script.run()
    assert not outcome.failures, outcome.failures
    assert outcome.results == {NAME: "created (adopted T)"}
    assert "adopt T (entries): it exists and holds data" in out
    assert script.cloud.writes == ["CreateChangeSet", "ExecuteChangeSet", "CreateChangeSet",
                                   "DeleteChangeSet"]


def test_a_table_owned_by_another_stack_stops_before_any_write():
    script = Scripted().missing()
    with_table(script, {})
    script.ok("describe_stack_resources", {"StackResources": [{
        "StackName": "other-dev-table", "LogicalResourceId": "X",
        "ResourceType": "AWS::DynamoDB::Table", "Timestamp": "2026-01-01T00:00:00Z",
        "ResourceStatus": "CREATE_COMPLETE", "PhysicalResourceId": "entries"}]})
    script.spec = ADOPTING
    outcome, _ = script.run()
    assert "T (entries) exists and belongs to stack other-dev-table; nothing was changed" \
        in outcome.failures[NAME]
    assert script.cloud.writes == []


def test_what_clean_recorded_is_a_candidate_when_the_template_still_declares_it():
    from generator.deploy.adopt import recorded_candidates
    from generator.deploy.clean import Retained

    template = b"""\
Resources:
  Store: {Type: AWS::S3::Bucket, DeletionPolicy: Retain}
  Key: {Type: AWS::KMS::Key, DeletionPolicy: Retain}
  Entries: {Type: AWS::DynamoDB::Table, Properties: {TableName: entries}}
"""
    kept = [Retained(NAME, "Store", "AWS::S3::Bucket", "app-dev-store-1a2b", REGION),
            Retained(NAME, "Key", "AWS::KMS::Key", "k-123", REGION),
            Retained(NAME, "Entries", "AWS::DynamoDB::Table", "entries", REGION),
            Retained(NAME, "Gone", "AWS::S3::Bucket", "old-bucket", REGION),
            Retained(NAME, "Store2", "AWS::SQS::Queue", "q", REGION)]
    named = candidates(template, set())
    assert named == [Candidate("Entries", "AWS::DynamoDB::Table", "entries")]
    assert recorded_candidates(template, kept, named) == [
        Candidate("Store", "AWS::S3::Bucket", "app-dev-store-1a2b"),
        Candidate("Key", "AWS::KMS::Key", "k-123")]
    adopt, _ = plan_adoptions(NAME, {Candidate("Key", "AWS::KMS::Key", "k-123"):
                                     Existing("k-123")})
    assert adopt[0].to_import() == {"ResourceType": "AWS::KMS::Key",
                                    "LogicalResourceId": "Key",
                                    "ResourceIdentifier": {"KeyId": "k-123"}}


def test_a_bucket_name_taken_elsewhere_is_said_plainly():
    from generator.deploy.cloud import DeployError

    script = Scripted()
    s3 = Stubber(script.client("s3"))
    s3.add_client_error("head_bucket", "403", "Forbidden", http_status_code=403)
    with s3, pytest.raises(DeployError, match="the bucket name taken is taken, by another "
                                              "account .* pick another one"):
        script.cloud.existing("AWS::S3::Bucket", "taken", REGION)


def test_no_permission_to_find_a_tables_owner_is_not_taken_for_no_owner():
    script = Scripted()
    with_table(script, {})
    script.stub.add_client_error("describe_stack_resources", "AccessDenied", "not allowed")
    with script.stub, script.tables, pytest.raises(ClientError, match="AccessDenied"):
        script.cloud.existing("AWS::DynamoDB::Table", "entries", REGION)
