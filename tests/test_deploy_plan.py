"""Deploy decisions and gates as data: no network at all."""

from __future__ import annotations

import os

import pytest

from generator.deploy.cloud import DeployError, Target
from generator.deploy.models import HASH_TAG, Change, Decision, StackState
from generator.deploy.plan import change_table, decide, gate, stack_hash

from .conftest import REPO

HASH = stack_hash(b"template", {"P": "1"}, {"app": "x"})


def state(status: str, deployed: str | None = HASH) -> StackState:
    return StackState("app-dev-table", status, {HASH_TAG: deployed} if deployed else {})


def test_hash_covers_template_parameters_and_tags():
    assert stack_hash(b"template", {"P": "1"}, {"app": "x"}) == HASH
    assert stack_hash(b"template2", {"P": "1"}, {"app": "x"}) != HASH
    assert stack_hash(b"template", {"P": "2"}, {"app": "x"}) != HASH
    assert stack_hash(b"template", {"P": "1"}, {"app": "y"}) != HASH


@pytest.mark.parametrize("current, expected", [
    (None, Decision("app-dev-table", "create", "new stack")),
    (state("CREATE_COMPLETE"), Decision("app-dev-table", "skip", "unchanged")),
    (state("UPDATE_COMPLETE"), Decision("app-dev-table", "skip", "unchanged")),
    (state("UPDATE_COMPLETE", "old"), Decision("app-dev-table", "update", "changed")),
    (state("UPDATE_ROLLBACK_COMPLETE", "old"), Decision("app-dev-table", "update", "changed")),
    (state("CREATE_COMPLETE", None), Decision("app-dev-table", "update", "no hash tag yet")),
])
def test_skip_create_update(current, expected):
    assert decide("app-dev-table", "eu-west-1", current, HASH) == expected


def test_rollback_complete_is_recreated_saying_so():
    decision = decide("app-dev-table", "eu-west-1", state("ROLLBACK_COMPLETE"), HASH)
    assert decision.action == "recreate"
    assert "first create failed and it holds nothing" in decision.reason


def test_review_in_progress_leftover_is_recreated():
    assert decide("s", "eu-west-1", state("REVIEW_IN_PROGRESS", None), HASH).action == "recreate"


def test_update_rollback_failed_stops_with_the_exact_recovery_step():
    decision = decide("app-dev-table", "eu-west-1", state("UPDATE_ROLLBACK_FAILED"), HASH)
    assert decision.action == "stop"
    assert "aws cloudformation continue-update-rollback --stack-name app-dev-table " \
           "--region eu-west-1" in decision.reason


def test_a_stack_in_progress_is_not_touched():
    decision = decide("s", "eu-west-1", state("UPDATE_IN_PROGRESS"), HASH)
    assert decision.action == "stop" and "busy" in decision.reason


TABLE_REPLACED = Change("Modify", "Entries", "AWS::DynamoDB::Table", "True", ("KeySchema",))
TABLE_MAYBE = Change("Modify", "Entries", "AWS::DynamoDB::Table", "Conditional", ("TableName",))
TABLE_TAGGED = Change("Modify", "Entries", "AWS::DynamoDB::Table", "False", ("Tags",))
BUCKET_REMOVED = Change("Remove", "Site", "AWS::S3::Bucket", "")
ROLE_CHANGED = Change("Modify", "ApplyRole", "AWS::IAM::Role", "False", ("Policies",))
KEY_POLICY = Change("Modify", "Key", "AWS::KMS::Key", "False", ("KeyPolicy",))
KEY_DESCRIPTION = Change("Modify", "Key", "AWS::KMS::Key", "False", ("Description",))
FUNCTION = Change("Modify", "Apply", "AWS::Lambda::Function", "False", ("Code",))


def test_replacing_or_removing_data_is_blocked():
    checks = gate([TABLE_REPLACED, TABLE_MAYBE, TABLE_TAGGED, BUCKET_REMOVED, FUNCTION])
    assert checks.blocked == (TABLE_REPLACED, TABLE_MAYBE, BUCKET_REMOVED)
    assert checks.blocked_unless_allowed(frozenset({"Entries"})) == (BUCKET_REMOVED,)


def test_a_resource_the_blueprint_marks_as_data_is_blocked_too():
    database = Change("Modify", "Db", "AWS::Neptune::DBCluster", "True", ("DBClusterIdentifier",))
    assert gate([database]).blocked == ()
    assert gate([database], frozenset({"Db"})).blocked == (database,)


def test_new_or_widened_permissions_are_listed():
    checks = gate([ROLE_CHANGED, KEY_POLICY, KEY_DESCRIPTION, FUNCTION,
                   Change("Add", "InvokePermission", "AWS::Lambda::Permission", "")])
    assert [c.logical_id for c in checks.security] == ["ApplyRole", "Key", "InvokePermission"]


def test_empty_change_set_is_shown_as_no_changes():
    assert change_table("s", []) == ["  s: no changes"]


def test_change_table_shows_action_type_replacement_and_properties():
    rows = change_table("s", [TABLE_REPLACED])
    assert rows[1].split() == ["Modify", "Entries", "AWS::DynamoDB::Table", "True", "KeySchema"]


@pytest.mark.parametrize("endpoint", [
    "http://10.0.0.5:4566", "http://example.com:4566", "http://192.168.1.2",
    # forms an HTTP client could read another host out of, or that are not host:port
    "http://127.0.0.1\\@evil.example:80", "http://127.0.0.1:4566\\@evil.example",
    "http://user:pw@127.0.0.1:4566", "http://evil.example@127.0.0.1:4566",
    "https://127.0.0.1:4566", "http://127.0.0.1:4566/path", "http://127.0.0.1:4566?x=1",
    "http://127.0.0.1:4566#x", "http://127.0.0.1", "http://127.0.0.1:0",
    "http://127.0.0.1:70000", "http://0x7f.0.0.1:4566", "http://127.1:4566",
    "http://localhost.evil.example:4566", " http://127.0.0.1:4566", "HTTP://127.0.0.1:4566",
])
def test_local_target_refuses_anything_but_a_loopback_host_and_port(endpoint):
    with pytest.raises(DeployError, match="with a host on this machine"):
        Target.local_cloud(endpoint)


def test_local_target_accepts_loopback():
    assert Target.local_cloud("http://127.0.0.1:4566/").endpoint == "http://127.0.0.1:4566"
    assert Target.local_cloud("http://localhost:9").local
    assert Target.local_cloud("http://127.0.0.2:9").local
    assert Target.local_cloud("http://[::1]:4566").local


def test_the_local_cloud_never_uses_real_credentials(monkeypatch):
    from generator.deploy.cloud import Cloud

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY0000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("AWS_PROFILE", "production")
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"):
        monkeypatch.setenv(name, "unset-by-test")
    cloud = Cloud(Target.local_cloud("http://127.0.0.1:9"))
    client = cloud.client("s3", "eu-west-1")
    credentials = client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == ("test", "test")
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    import os

    assert "AWS_PROFILE" not in os.environ and "AWS_ACCESS_KEY_ID" not in os.environ


def test_the_local_cloud_process_starts_with_no_credential_source(monkeypatch, tmp_path):
    from generator.deploy import localcloud
    from generator.deploy.cloud import CREDENTIAL_ENV

    for name in CREDENTIAL_ENV:
        monkeypatch.setenv(name, "real-" + name.lower())
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/home/me/.aws/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/home/me/.aws/config")
    started = {}

    class Refused(Exception):
        pass

    def popen(command, env, **_):
        started.update(env)
        raise Refused

    monkeypatch.setattr(localcloud.subprocess, "Popen", popen)
    monkeypatch.setattr(localcloud, "healthy", lambda port: False)
    with pytest.raises(Refused):
        localcloud.start(1, str(tmp_path / "log"))
    assert not {name for name in CREDENTIAL_ENV if name in started}
    assert started["AWS_SHARED_CREDENTIALS_FILE"] == started["AWS_CONFIG_FILE"] == os.devnull
    assert started["AWS_EC2_METADATA_DISABLED"] == "true"
    assert started["BIND_HOST"] == "127.0.0.1"


@pytest.mark.parametrize("verb", ["deploy", "plan", "clean", "status", "outputs"])
def test_a_local_only_environment_never_reaches_aws(verb, cli, monkeypatch):
    import boto3

    monkeypatch.setattr(boto3.session, "Session", None)   # any AWS client would fail loudly
    run = cli(REPO, verb, "--env", "local", *(["--yes"] if verb in ("deploy", "clean") else []))
    assert run.code == 1
    assert "environment 'local' of customers is local_only (app.yaml): it deploys to the " \
           "local cloud only; add --local" in run.err


def test_cli_refuses_a_local_endpoint_off_this_machine(mini, cli):
    run = cli(mini, "deploy", "--endpoint", "http://10.1.2.3:4566", "--yes")
    assert run.code == 1
    assert "refusing the local endpoint 'http://10.1.2.3:4566': it must be " \
           "http://<host>:<port> with a host on this machine" in run.err


def test_deploy_without_synth_says_what_to_do(tmp_path, cli):
    run = cli(tmp_path, "deploy", "--local", "--yes")
    assert run.code == 1 and "run `make synth` first" in run.err


def role(actions: list[str]) -> dict:
    return {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {
        "Statement": [{"Effect": "Allow", "Action": actions,
                       "Resource": [{"Ref": "TableArn"}]}]}}]}}


def test_widened_permissions_are_spelled_out():
    from generator.deploy.security import added_permissions

    old, new = role(["dynamodb:GetItem"]), role(["dynamodb:GetItem", "dynamodb:DeleteItem"])
    assert added_permissions(old, new) == ['+ allow dynamodb:DeleteItem on {"Ref": "TableArn"}']
    assert added_permissions(new, old) == []
    assert len(added_permissions(None, new)) == 2


def test_bucket_policy_additions_name_the_principal():
    from generator.deploy.security import added_permissions

    policy = {"Type": "AWS::S3::BucketPolicy", "Properties": {"PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:x/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:x/*"}]}}}
    assert added_permissions(None, policy) == ['+ allow s3:GetObject on "arn:x/*" to "*"']


def test_a_trust_policy_addition_names_who_may_assume_without_an_empty_resource():
    from generator.deploy.security import added_permissions

    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"Service": "lambda.amazonaws.com"}}]}}}
    assert added_permissions(None, role) == [
        '+ allow sts:AssumeRole to {"Service": "lambda.amazonaws.com"}']


def test_templates_written_with_short_forms_are_read_too():
    from generator.deploy.templates import template_resources

    body = "Resources:\n  R:\n    Type: AWS::SNS::Topic\n    Properties:\n" \
           "      TopicName: !Sub '${AWS::StackName}-t'\n      X: !GetAtt A.B\n"
    assert template_resources(body)["R"]["Properties"] == {
        "TopicName": {"Fn::Sub": "${AWS::StackName}-t"}, "X": {"Fn::GetAtt": ["A", "B"]}}
    assert template_resources({"Resources": {"R": {}}}) == {"R": {}}


def test_the_local_cloud_is_reached_directly_whatever_proxy_is_set(monkeypatch):
    import http.server
    import threading

    from generator.deploy.cloud import Cloud

    hits = {"proxy": 0, "cloud": 0}

    def server(name: str):
        class Answer(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                hits[name] += 1
                body = b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        made = http.server.HTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=made.serve_forever, daemon=True).start()
        return made

    proxy, cloud_server = server("proxy"), server("cloud")
    try:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.server_port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        cloud = Cloud(Target.local_cloud(f"http://127.0.0.1:{cloud_server.server_port}"))
        cloud.client("s3", "eu-west-1").list_buckets()
        assert hits == {"proxy": 0, "cloud": 1}
    finally:
        proxy.shutdown()
        cloud_server.shutdown()
