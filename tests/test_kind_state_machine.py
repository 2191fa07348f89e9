"""`state_machine` (role read from its Task states), `alarm` (metrics of our kinds), and
access levels that follow the ARN attribute an entry names."""

from __future__ import annotations

import pytest
import yaml

from generator.policyguard import check_template

from .conftest import write_files
from .test_referees import checkov, unexplained

STAGE = """\
    resources:
      Orders:
        kind: table
        key: {id: S}
        stream: new_image
        indexes: [{name: byItem, key: {item: S}}]
      Jobs: {kind: queue}
      Told: {kind: topic}
      Step:
        kind: function
        code: shop_worker
      Flow:
        kind: state_machine
        definition:
          StartAt: Call
          States:
            Call:
              Type: Task
              Resource: arn:aws:states:::lambda:invoke
              Parameters: {FunctionName: !GetAtt Step.Arn, Payload.$: $}
              Next: Both
            Both:
              Type: Parallel
              End: true
              Branches:
                - StartAt: Send
                  States:
                    Send:
                      Type: Task
                      Resource: arn:aws:states:::sqs:sendMessage
                      Parameters: {QueueUrl: !Ref Jobs, MessageBody.$: $}
                      End: true
                - StartAt: Store
                  States:
                    Store:
                      Type: Task
                      Resource: arn:aws:states:::dynamodb:putItem
                      Parameters: {TableName: !Ref Orders, Item: {id: {S.$: $.id}}}
                      Next: Tell
                    Tell:
                      Type: Task
                      Resource: arn:aws:states:::sns:publish
                      Parameters: {TopicArn: !Ref Told, Message.$: $}
                      End: true
      Reader:
        kind: function
        code: shop_worker
        access:
          - {resource: !GetAtt Orders.StreamArn, allow: [read]}
          - {resource: !GetAtt Orders.Arn, allow: [read, scan]}
          - {resource: !Ref Flow, allow: [start, read]}
      Slow:
        kind: alarm
        watch: !Ref Reader
        metric: duration
        threshold: 5000
        actions: [!Ref Told]
      Stuck:
        kind: alarm
        watch: !Ref Jobs
        metric: dead_letters
        actions: [!Ref Told]
    """


@pytest.fixture
def built(mini, cli) -> dict:
    write_files(mini, {"blueprints/shop/03-flow.yaml": STAGE})
    run = cli(mini, "synth")
    assert run.code == 0, run.err
    return yaml.safe_load((mini / "build/dev/shop/03-flow.yaml").read_text())["Resources"]


def _statements(resources: dict, role: str) -> list[dict]:
    return resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_the_role_does_exactly_what_its_tasks_do(built):
    named = [(s["Action"], s["Resource"]) for s in _statements(built, "FlowRole")
             if s["Resource"] != ["*"]]
    assert named == [
        (["lambda:InvokeFunction"], [{"Fn::GetAtt": ["Step", "Arn"]}, {"Fn::Sub": [
            "${Function}:*", {"Function": {"Fn::GetAtt": ["Step", "Arn"]}}]}]),
        (["sqs:SendMessage"], [{"Fn::GetAtt": ["Jobs", "Arn"]}]),
        (["dynamodb:PutItem"], [{"Fn::GetAtt": ["Orders", "Arn"]}]),
        (["sns:Publish"], [{"Ref": "Told"}])]
    star = [s["Action"] for s in _statements(built, "FlowRole") if s["Resource"] == ["*"]]
    assert all(a.startswith(("logs:", "xray:")) for actions in star for a in actions)
    trust = built["FlowRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["states.amazonaws.com"]}


def test_intrinsics_become_substitutions_and_it_logs_and_traces(built):
    props = built["Flow"]["Properties"]
    assert props["Definition"]["States"]["Call"]["Parameters"]["FunctionName"] == "${Sub1}"
    assert props["DefinitionSubstitutions"]["Sub1"] == {"Fn::GetAtt": ["Step", "Arn"]}
    assert props["TracingConfiguration"] == {"Enabled": True}
    destination = props["LoggingConfiguration"]["Destinations"][0]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["FlowLogGroup", "Arn"]}
    assert built["FlowLogGroup"]["DeletionPolicy"] == "Retain"


def test_access_levels_follow_the_attribute_named(built):
    grants = {tuple(s["Action"]): s["Resource"] for s in _statements(built, "ReaderRole")}
    stream = [{"Fn::GetAtt": ["Orders", "StreamArn"]}]
    assert grants[("dynamodb:DescribeStream", "dynamodb:GetRecords",
                   "dynamodb:GetShardIterator", "dynamodb:ListStreams")] == stream
    table = [{"Fn::GetAtt": ["Orders", "Arn"]}]
    # only Query and Scan reach the indexes
    assert grants[("dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem",
                   "dynamodb:DescribeTable", "dynamodb:GetItem")] == table
    assert grants[("dynamodb:Query", "dynamodb:Scan")] == table + [
        {"Fn::Sub": ["${Table}/index/*", {"Table": {"Fn::GetAtt": ["Orders", "Arn"]}}]}]
    assert grants[("states:DescribeStateMachine", "states:ListExecutions",
                   "states:StartExecution", "states:StartSyncExecution")] == [{"Ref": "Flow"}]
    executions = grants[("states:DescribeExecution", "states:GetExecutionHistory")]
    assert ":execution:${Name}:*" in executions[0]["Fn::Sub"][0]


def test_alarms_watch_the_right_metric_and_tell_the_topic(built):
    slow, stuck = built["Slow"]["Properties"], built["Stuck"]["Properties"]
    assert (slow["Namespace"], slow["MetricName"], slow["Statistic"]) == \
        ("AWS/Lambda", "Duration", "Maximum")
    assert slow["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "Reader"}}]
    assert slow["Threshold"] == 5000 and slow["AlarmActions"] == [{"Ref": "Told"}]
    assert stuck["Dimensions"] == [{"Name": "QueueName",
                                    "Value": {"Fn::GetAtt": ["JobsDlq", "QueueName"]}}]


def test_a_rest_api_alarm_names_the_api_as_its_metrics_do(mini, cli):
    write_files(mini, {"blueprints/shop/03-flow.yaml": """\
        resources:
          Told: {kind: topic}
          Rest:
            kind: rest_api
            stage: dev
            paths: {/x: {GET: {function: arn:aws:lambda:eu-west-1:123456789012:function:x}}}
          Broken: {kind: alarm, watch: !Ref Rest, metric: 5xx, actions: [!Ref Told]}
        """})
    assert cli(mini, "synth").code == 0
    built = yaml.safe_load((mini / "build/dev/shop/03-flow.yaml").read_text())["Resources"]
    alarm = built["Broken"]["Properties"]
    assert (alarm["MetricName"], alarm["Dimensions"]) == ("5XXError", [
        {"Name": "ApiName", "Value": {"Fn::Sub": "${AWS::StackName}-Rest"}}])
    assert built["Rest"]["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-Rest"}


def test_the_guard_and_checkov_find_nothing(built, mini):
    assert check_template({"Resources": built}) == []
    report = checkov(str(mini / "build/dev/shop/03-flow.yaml"))
    results = report if "results" in report else report[0]
    assert unexplained(results["results"]) == []


@pytest.mark.parametrize(("stage", "message"), [
    ("""\
    resources:
      Flow:
        kind: state_machine
        definition:
          StartAt: A
          States:
            A: {Type: Task, Resource: arn:aws:states:::ecs:runTask, End: true}
    """, "resources.Flow.definition: cannot tell what the Task with Resource "
         "'arn:aws:states:::ecs:runTask' may do"),
    ("""\
    resources:
      Flow:
        kind: state_machine
        definition:
          StartAt: A
          States:
            A: {Type: Task, Resource: arn:aws:states:::lambda:invoke, End: true,
                Parameters: {FunctionName.$: $.name}}
    """, "cannot tell what the Task with Resource 'arn:aws:states:::lambda:invoke' may do"),
    ("""\
    resources:
      Flow: {kind: state_machine, definition: [a]}
    """, "resources.Flow.definition: expected a mapping with StartAt and States"),
    ("""\
    resources:
      T: {kind: topic}
      A: {kind: alarm, watch: !Ref T, metric: errors, actions: [!Ref T]}
    """, "resources.A: cannot watch 'errors' of this"),
    ("""\
    resources:
      T: {kind: table, key: {id: S}, stream: keys_only}
      F:
        kind: function
        code: shop_worker
        access: [{resource: !GetAtt T.StreamArn, allow: [write]}]
    """, "a table's StreamArn has no access level 'write'; its levels are read"),
])
def test_wrong_shapes_are_located_errors(mini, cli, stage, message):
    write_files(mini, {"blueprints/shop/03-flow.yaml": stage})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1 and message in run.err, run.err
    assert "Traceback" not in run.err


FLOW_FILE = """\
    Comment: fulfilment ({{ env }})
    StartAt: Call
    States:
      Call:
        Type: Task
        Resource: arn:aws:states:::lambda:invoke
        Parameters: {FunctionName: !GetAtt %s.Arn, Payload.$: $}
        End: true
    """
FLOW_STAGE = """\
    resources:
      Step: {kind: function, code: shop_worker}
      Flow: {kind: state_machine, definition_file: flows/fulfil.yaml}
    """


def test_a_definition_file_is_rendered_substituted_and_read_for_the_role(mini, cli):
    write_files(mini, {"blueprints/shop/flows/fulfil.yaml": FLOW_FILE % "Step",
                       "blueprints/shop/03-flow.yaml": FLOW_STAGE})
    assert cli(mini, "synth").code == 0
    built = yaml.safe_load((mini / "build/dev/shop/03-flow.yaml").read_text())["Resources"]
    assert built["Flow"]["Properties"]["Definition"]["Comment"] == "fulfilment (dev)"
    assert built["Flow"]["Properties"]["DefinitionSubstitutions"] == {
        "Sub1": {"Fn::GetAtt": ["Step", "Arn"]}}
    assert _statements(built, "FlowRole")[0]["Action"] == ["lambda:InvokeFunction"]


def test_a_definition_file_naming_an_unknown_resource_is_located_in_that_file(mini, cli):
    write_files(mini, {"blueprints/shop/flows/fulfil.yaml": FLOW_FILE % "Stop",
                       "blueprints/shop/03-flow.yaml": FLOW_STAGE})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert "blueprints/shop/flows/fulfil.yaml:7:32: resources.Flow.definition_file: " \
           "!GetAtt 'Stop.Arn' in a definition file must name a resource of this stage" \
           in run.err
