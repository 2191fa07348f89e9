"""Deployer branches that the local cloud cannot show, on botocore's Stubber.

The local cloud does not refuse updates in ROLLBACK_COMPLETE, and says "didn't contain
changes" where AWS may say "No updates are to be performed"; these tests script
CloudFormation's answers exactly as AWS gives them and check what the deployer does.
"""

from __future__ import annotations

import dataclasses
import datetime
import io

import boto3
import pytest
from botocore.stub import Stubber

from generator.deploy.cloud import Cloud, DeployError, Target
from generator.deploy.manifest import StackSpec
from generator.deploy.models import HASH_TAG
from generator.deploy.plan import stack_hash
from generator.deploy.runner import Console, Deployer, Options

REGION = "eu-west-1"
NAME = "app-dev-table"
TEMPLATE = b"Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n"
SPEC = StackSpec("app", "dev", "table", NAME, REGION, TEMPLATE, (), {}, (), (), {"app": "x"},
                 ("T",))
WANTED = stack_hash(TEMPLATE, {}, {"app": "x"})
NOW = datetime.datetime(2026, 11, 24, tzinfo=datetime.UTC)


def stack(status: str, tags: dict | None = None, outputs: list | None = None) -> dict:
    return {"Stacks": [{"StackName": NAME, "StackStatus": status, "CreationTime": NOW,
                        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
                        "Outputs": outputs or []}]}


def event(n: int, logical: str, status: str, reason: str = "", kind="AWS::DynamoDB::Table"):
    return {"EventId": f"e{n}", "StackId": "id", "StackName": NAME, "Timestamp": NOW,
            "LogicalResourceId": logical, "ResourceStatus": status,
            "ResourceStatusReason": reason, "ResourceType": kind}


def no_real_clients(service: str, region: str):
    raise AssertionError(f"a {service} client in {region} was not scripted: no test may "
                         "reach AWS")


class Scripted:
    """A Cloud whose clients answer from a script, in order; any other client is an
    error, so nothing here can reach AWS."""

    def __init__(self) -> None:
        self.cloud = Cloud(Target(), sleep=lambda s: None)
        self.cloud._make = no_real_clients
        self.stub = Stubber(self.client("cloudformation"))
        self.identity = Stubber(self.client("sts"))
        self.tables = Stubber(self.client("dynamodb"))
        self.spec = SPEC
        self.identity.add_response("get_caller_identity", {
            "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ci",
            "UserId": "AIDAEXAMPLE"})

    def client(self, service: str):
        made = boto3.client(service, region_name=REGION, aws_access_key_id="x",
                            aws_secret_access_key="x")
        made.meta.events.register("before-parameter-build", self.cloud._record)
        self.cloud._clients[(service, REGION)] = made
        return made

    def ok(self, method: str, response: dict | None = None) -> Scripted:
        self.stub.add_response(method, response or {}, None)
        return self

    def missing(self, method: str = "describe_stacks") -> Scripted:
        self.stub.add_client_error(method, "ValidationError",
                                   f"Stack with id {NAME} does not exist")
        return self

    def run(self, options: Options | None = None):
        options = options or Options(yes=True)
        out = io.StringIO()
        deployer = Deployer("/nonexistent", self.cloud, Console(out), options)
        with self.stub, self.identity, self.tables:
            outcome = deployer.run([self.spec])
            self.stub.assert_no_pending_responses()
            self.tables.assert_no_pending_responses()
        return outcome, out.getvalue()


def updating(answer: dict) -> Scripted:
    """A stack deployed from an older build, up to the change set's description (and the
    deployed template, which the security review reads when resources change or go)."""
    script = (Scripted()
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: "older"}))
              .ok("list_change_sets", {"Summaries": []})
              .ok("create_change_set", {"Id": "cs", "StackId": "id"})
              .ok("describe_change_set", answer))
    actions = {c["ResourceChange"]["Action"] for c in answer.get("Changes", [])}
    if actions & {"Modify", "Remove"}:
        script.ok("get_template", {"TemplateBody": TEMPLATE.decode()})
    return script


def change_set(status="CREATE_COMPLETE", reason="", changes=None) -> dict:
    return {"Status": status, "StatusReason": reason, "ChangeSetName": "cs",
            "Changes": changes or [{"Type": "Resource", "ResourceChange": {
                "Action": "Add", "LogicalResourceId": "T",
                "ResourceType": "AWS::DynamoDB::Table", "Details": []}}]}


def test_rollback_complete_stack_is_deleted_and_created_again():
    script = (Scripted()
              .ok("describe_stacks", stack("ROLLBACK_COMPLETE"))        # decide
              .ok("delete_stack")
              .ok("describe_stack_events", {"StackEvents": []})
              .missing()                                                # deleted
              .missing("list_change_sets")
              .ok("create_change_set", {"Id": "cs", "StackId": "id"})
              .ok("describe_change_set", change_set())
              .ok("describe_stack_events", {"StackEvents": []})
              .ok("execute_change_set")
              .ok("describe_stack_events", {"StackEvents": [
                  event(2, NAME, "CREATE_COMPLETE", kind="AWS::CloudFormation::Stack"),
                  event(1, "T", "CREATE_COMPLETE")]})
              .ok("describe_stacks", stack("CREATE_COMPLETE", {HASH_TAG: WANTED}))
              .ok("describe_stacks", stack("CREATE_COMPLETE", {HASH_TAG: WANTED})))
    outcome, out = script.run()
    assert outcome.results == {NAME: "created"} and not outcome.failures
    assert "ROLLBACK_COMPLETE: it holds nothing, so it is deleted and created again" in out
    assert script.cloud.writes == ["DeleteStack", "CreateChangeSet", "ExecuteChangeSet"]


@pytest.mark.parametrize("reason", [
    "The submitted information didn't contain changes. Submit different information to "
    "create a change set.",
    "No updates are to be performed."])
def test_empty_change_set_is_a_successful_no_op(reason):
    script = (updating(change_set("FAILED", reason, changes=[]))
              .ok("delete_change_set")
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: "older"})))
    outcome, out = script.run()
    assert outcome.results == {NAME: "no changes"} and not outcome.failures
    assert "ExecuteChangeSet" not in script.cloud.writes


def test_other_change_set_failures_are_reported_not_swallowed():
    script = updating(change_set("FAILED", "Parameters: [X] must have values", changes=[]))
    script.ok("delete_change_set")
    outcome, _ = script.run()
    assert "CloudFormation refused the change set: Parameters: [X] must have values" in \
        outcome.failures[NAME]


def test_update_rollback_failed_stops_before_any_write():
    script = Scripted().ok("describe_stacks", stack("UPDATE_ROLLBACK_FAILED"))
    outcome, _ = script.run()
    assert "continue-update-rollback --stack-name app-dev-table --region eu-west-1" in \
        outcome.failures[NAME]
    assert script.cloud.writes == []


def replacement():
    return change_set(changes=[{"Type": "Resource", "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "T", "ResourceType": "AWS::DynamoDB::Table",
        "Replacement": "True", "Details": [{"Target": {"Attribute": "Properties",
                                                       "Name": "KeySchema"}}]}}])




def test_replacing_a_table_is_blocked_without_consent():
    script = updating(replacement()).ok("delete_change_set")
    outcome, out = script.run(Options(yes=True))
    assert "replaces T (AWS::DynamoDB::Table), which holds data that would be lost; nothing " \
           "was executed" in outcome.refusals[NAME]
    assert "--allow-replace T" in outcome.refusals[NAME]
    assert outcome.results == {NAME: "not executed"} and outcome.exit_code == 3
    assert script.cloud.writes == ["CreateChangeSet", "DeleteChangeSet"]
    assert "Modify  T           AWS::DynamoDB::Table  True     KeySchema" in out


def executes(script: Scripted) -> Scripted:
    """The change set runs and the update completes."""
    return (script.ok("describe_stack_events", {"StackEvents": []})
            .ok("execute_change_set")
            .ok("describe_stack_events", {"StackEvents": []})
            .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: WANTED}))
            .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: WANTED})))


def test_replacement_goes_ahead_with_allow_replace():
    script = executes(updating(replacement()))
    outcome, _ = script.run(Options(yes=True, allow_replace=frozenset({"T"})))
    assert outcome.results == {NAME: "updated"}


def test_without_a_terminal_or_yes_nothing_is_executed():
    script = (Scripted().missing()
              .missing("list_change_sets")
              .ok("create_change_set", {"Id": "cs", "StackId": "id"})
              .ok("describe_change_set", change_set())
              .ok("delete_change_set")
              .ok("delete_stack"))
    outcome, out = script.run(Options(yes=False, interactive=False))
    assert outcome.results == {NAME: "not executed"} and outcome.exit_code == 3
    assert "not executed: no terminal to confirm on and no --yes" in out
    assert "ExecuteChangeSet" not in script.cloud.writes


def test_failed_update_names_the_first_failing_resource_and_what_to_do():
    script = (updating(change_set())
              .ok("describe_stack_events", {"StackEvents": []})
              .ok("execute_change_set")
              .ok("describe_stack_events", {"StackEvents": [
                  event(3, "Other", "UPDATE_FAILED", "Resource update cancelled"),
                  event(2, "T", "UPDATE_FAILED", "Invalid KeySchema: boom"),
                  event(1, NAME, "UPDATE_IN_PROGRESS", kind="AWS::CloudFormation::Stack")]})
              .ok("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE")))
    outcome, _ = script.run()
    message = outcome.failures[NAME]
    assert "T (AWS::DynamoDB::Table): Invalid KeySchema: boom" in message
    assert "rolled back to its previous version (UPDATE_ROLLBACK_COMPLETE); data-holding " \
           "resources were kept (T)" in message


def test_waits_have_a_limit():
    script = Scripted()
    for _ in range(3):
        script.ok("describe_change_set", change_set("CREATE_IN_PROGRESS"))
    ticks = iter(range(100))
    script.cloud.clock = lambda: next(ticks) * 10.0
    with script.stub, pytest.raises(Exception, match="gave up waiting after 25 s"):
        script.cloud.wait_change_set(NAME, REGION, "cs", limit=25)


def test_interactive_consent_needs_the_logical_id_typed():
    answers = iter(["yes"])          # not the logical id: refused
    script = updating(replacement()).ok("delete_change_set")
    out = io.StringIO()
    deployer = Deployer("/x", script.cloud, Console(out, ask=lambda q: next(answers)),
                        Options(interactive=True))
    with script.stub, script.identity:
        outcome = deployer.run([SPEC])
    assert outcome.results == {NAME: "not executed"}
    assert "type T to allow it" not in out.getvalue()   # the question went to `ask`
    assert "not confirmed; nothing executed" in out.getvalue()
    assert "ExecuteChangeSet" not in script.cloud.writes


def test_interactive_consent_with_the_logical_id_then_yes_executes():
    questions = []
    answers = iter(["T", "y"])
    script = executes(updating(replacement()))

    def ask(question: str) -> str:
        questions.append(question)
        return next(answers)

    deployer = Deployer("/x", script.cloud, Console(io.StringIO(), ask=ask),
                        Options(interactive=True))
    with script.stub, script.identity:
        outcome = deployer.run([SPEC])
    assert outcome.results == {NAME: "updated"}
    assert "type T to allow it" in questions[0] and "execute this change set?" in questions[1]


def test_a_change_set_left_by_an_earlier_run_is_deleted_first():
    script = (Scripted()
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: "older"}))
              .ok("list_change_sets", {"Summaries": [
                  {"ChangeSetName": "bp-0123456789ab-1700000000", "ExecutionStatus":
                   "AVAILABLE", "Status": "CREATE_COMPLETE"},
                  {"ChangeSetName": "someone-elses", "ExecutionStatus": "AVAILABLE",
                   "Status": "CREATE_COMPLETE"}]})
              .ok("delete_change_set")
              .ok("create_change_set", {"Id": "cs", "StackId": "id"})
              .ok("describe_change_set", change_set("FAILED", "No updates are to be "
                                                              "performed.", changes=[]))
              .ok("delete_change_set")
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: "older"})))
    outcome, out = script.run()
    assert "deleting a change set left by an earlier run: bp-0123456789ab-1700000000" in out
    assert "someone-elses" not in out
    assert script.cloud.writes == ["DeleteChangeSet", "CreateChangeSet", "DeleteChangeSet"]


def test_an_environment_pinned_to_another_account_is_refused_before_any_call():
    cloud = Cloud(Target(), sleep=lambda s: None)
    sts = boto3.client("sts", region_name=REGION, aws_access_key_id="x",
                       aws_secret_access_key="x")
    sts.meta.events.register("before-parameter-build", cloud._record)
    cloud._clients[("sts", REGION)] = sts
    pinned = dataclasses.replace(SPEC, account="111111111111")
    with Stubber(sts) as stub:
        stub.add_response("get_caller_identity", {"Account": "222222222222",
                                                  "Arn": "arn:aws:iam::222222222222:user/x",
                                                  "UserId": "x"})
        with pytest.raises(DeployError, match="these credentials are for account "
                                              "222222222222, but the environment is pinned "
                                              "to 111111111111"):
            Deployer("/x", cloud, Console(io.StringIO()), Options(yes=True)).run([pinned])
    assert cloud.calls == ["GetCallerIdentity"]


def test_after_ctrl_c_every_wait_gives_up_at_once_saying_how_to_resume():
    script = Scripted()
    script.cloud.stopping.set()
    with script.stub, pytest.raises(DeployError, match="interrupted while waiting for change "
                                                       "set cs of app-dev-table; .* deploy "
                                                       "again to pick up from there"):
        script.cloud.wait_change_set(NAME, REGION, "cs")
    assert script.cloud.calls == []


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere boto3 looks (and no metadata service asked)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_missing_credentials_are_one_clear_error_before_anything_else(no_credentials):
    cloud = Cloud(Target(), sleep=lambda s: None)
    with pytest.raises(DeployError, match="no AWS credentials found: set AWS_PROFILE .* "
                                          "add --local"):
        Deployer("/x", cloud, Console(io.StringIO()), Options(yes=True)).run([SPEC])


def test_planning_a_first_deploy_plans_the_asset_bucket_and_waits_for_it():
    needs_assets = dataclasses.replace(SPEC, parameters={"AssetBucket": {"asset_bucket": True}})
    script = Scripted().missing()                            # blueprint-assets: absent
    script.tables.add_client_error("describe_table", "ResourceNotFoundException",
                                   "no blueprint-state table yet")
    (script.missing("list_change_sets")
              .ok("create_change_set", {"Id": "cs", "StackId": "id"})
              .ok("describe_change_set", change_set())
              .ok("delete_change_set")
              .ok("delete_stack")                              # its empty review stack
              .missing()                                       # the app stack's bucket
              .missing())                                      # the app stack itself
    out = io.StringIO()
    deployer = Deployer("/x", script.cloud, Console(out), Options(plan_only=True))
    with script.stub, script.identity, script.tables:
        outcome = deployer.run([needs_assets])
    assert outcome.results == {"blueprint-assets@eu-west-1": "planned",
                               NAME: "planned (new; inputs known after deploy)"}
    assert "new stack, planned from its template (known after deploy: AssetBucket (the " \
           "asset bucket))" in out.getvalue()
    section = "\n".join(outcome.sections[NAME])
    assert "| `AssetBucket` | (known after deploy) (the asset bucket) |" in section
    assert "| Add | `T` | `AWS::DynamoDB::Table` |" in section
    assert "ExecuteChangeSet" not in script.cloud.writes


def test_a_deployed_stack_waiting_for_a_new_input_is_listed_not_guessed():
    needs_assets = dataclasses.replace(SPEC, parameters={"AssetBucket": {"asset_bucket": True}})
    script = Scripted().missing()                            # blueprint-assets: absent
    script.tables.add_client_error("describe_table", "ResourceNotFoundException",
                                   "no blueprint-state table yet")
    (script.missing("list_change_sets")
              .ok("create_change_set", {"Id": "cs", "StackId": "id"})
              .ok("describe_change_set", change_set())
              .ok("delete_change_set")
              .ok("delete_stack")
              .missing()                                       # the asset bucket stack
              .ok("describe_stacks", {"Stacks": [{"StackName": NAME, "CreationTime": "2024-01-01",
                                                  "StackStatus": "CREATE_COMPLETE"}]}))
    deployer = Deployer("/x", script.cloud, Console(io.StringIO()), Options(plan_only=True))
    with script.stub, script.identity, script.tables:
        outcome = deployer.run([needs_assets])
    assert outcome.results[NAME] == "waits for a dependency"
    assert "it needs AssetBucket (the asset bucket)" in "\n".join(outcome.sections[NAME])


def test_after_stop_no_change_set_is_executed():
    script = Scripted()
    script.cloud.stop()
    with script.stub, pytest.raises(DeployError, match="interrupted: change set cs of "
                                                       "app-dev-table was not executed"):
        script.cloud.execute_change_set(NAME, REGION, "cs")
    assert script.cloud.calls == []


def test_a_permission_error_is_named_not_an_internal_error():
    script = Scripted()
    script.stub.add_client_error("describe_stacks", "AccessDenied", "User: arn:aws:iam::1:"
                                 "user/ci is not authorized to perform: "
                                 "cloudformation:DescribeStacks")
    outcome, out = script.run()
    assert outcome.failures[NAME].startswith("permission denied for DescribeStacks: User: "
                                             "arn:aws:iam::1:user/ci is not authorized")
    assert "ask for that permission, or use other credentials" in outcome.failures[NAME]


def test_no_answer_from_aws_names_the_region_endpoint_and_cause():
    from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

    url = "https://cloudformation.eu-west-1.amazonaws.com/"
    refused = Target().explain(EndpointConnectionError(endpoint_url=url))
    assert refused == (f"AWS does not answer at {url} (region eu-west-1): connection refused "
                       "or unreachable; check the network, a proxy (HTTPS_PROXY) and the "
                       "region, then run again")
    assert "no answer within the timeout" in Target().explain(ReadTimeoutError(endpoint_url=url))
    assert Target().explain(ValueError("x")) is None


PROTECTED = (b"Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
             b"      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}\n")
RELAXED = b"Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties: {}\n"


def weakening() -> Scripted:
    """The deployed table has point-in-time recovery; the new build turns it off."""
    script = (Scripted()
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: "older"}))
              .ok("list_change_sets", {"Summaries": []})
              .ok("create_change_set", {"Id": "cs", "StackId": "id"})
              .ok("describe_change_set", change_set(changes=[{
                  "Type": "Resource", "ResourceChange": {
                      "Action": "Modify", "LogicalResourceId": "T",
                      "ResourceType": "AWS::DynamoDB::Table", "Replacement": "False",
                      "Details": [{"Target": {"Attribute": "Properties",
                                              "Name": "PointInTimeRecoverySpecification"}}]}}]))
              .ok("get_template", {"TemplateBody": PROTECTED.decode()}))
    script.spec = dataclasses.replace(SPEC, template=RELAXED)
    return script


ROW = ('~ point-in-time recovery (PointInTimeRecoverySpecification): '
       '{"PointInTimeRecoveryEnabled": true} -> (none)')


def test_a_weakened_protection_is_listed_and_planned():
    script = weakening().ok("delete_change_set")
    outcome, out = script.run(Options(plan_only=True))
    assert "security changes (new permissions or weaker protections):" in out
    assert ROW in out
    plan = "\n".join(outcome.markdown)
    assert "#### Security changes (need `--yes` or a typed yes)" in plan and ROW in plan
    assert "ExecuteChangeSet" not in script.cloud.writes


def test_a_weakened_protection_is_not_executed_without_consent():
    script = weakening().ok("delete_change_set")
    outcome, _ = script.run(Options())
    assert outcome.results == {NAME: "not executed"} and outcome.exit_code == 3
    assert "ExecuteChangeSet" not in script.cloud.writes


@pytest.mark.parametrize("answer,executed", [("y", False), ("yes", True)])
def test_a_weakened_protection_needs_yes_typed_out(answer, executed):
    script = weakening()
    script = executes(script) if executed else script.ok("delete_change_set")
    questions = []

    def ask(question: str) -> str:
        questions.append(question)
        return answer

    deployer = Deployer("/x", script.cloud, Console(io.StringIO(), ask=ask),
                        Options(interactive=True))
    with script.stub, script.identity:
        outcome = deployer.run([script.spec])
    assert questions == [f"[{NAME}] this change set widens access or weakens a protection "
                         "(listed above); type yes to execute it: "]
    assert ("ExecuteChangeSet" in script.cloud.writes) is executed
    assert outcome.results == {NAME: "updated" if executed else "not executed"}


@pytest.mark.parametrize("verb", ["status", "outputs", "clean", "plan", "deploy"])
def test_every_verb_says_what_to_do_without_credentials(verb, mini, cli, no_credentials):
    assert cli(mini, "synth", "--no-lint").code == 0
    run = cli(mini, verb, *(["--yes"] if verb in ("deploy", "clean") else []))
    assert run.code == 1, run.err
    assert "error: no AWS credentials found: set AWS_PROFILE" in run.err
    assert "add --local" in run.err and "internal error" not in run.err


def test_credentials_that_cannot_be_used_are_said_so():
    from botocore.exceptions import ProfileNotFound

    message = Target().explain(ProfileNotFound(profile="work"))
    assert message.startswith("the AWS credentials cannot be used: The config profile "
                              "(work) could not be found; fix the profile")
