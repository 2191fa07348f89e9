"""`queue`, `topic` and a function's triggers: secure defaults, wiring, and exactly the
permissions each trigger needs (no more), with located errors for the wrong shapes."""

from __future__ import annotations

import pytest
import yaml

from generator.policyguard import check_template

from .conftest import write_files
from .test_referees import checkov, unexplained

STAGE = """\
    resources:
      Uploads:
        kind: bucket
        versioned: true
      Orders:
        kind: table
        key: {id: S}
        stream: new_image
      Work:
        kind: queue
        dead_letter: {max_receives: 3}
      Failed:
        kind: queue
      Notices:
        kind: queue
      Events:
        kind: topic
        subscriptions:
          - {queue: !GetAtt Notices.Arn, filter: {type: [shipped]}}
          - {email: ops@example.com}
      Worker:
        kind: function
        code: shop_worker
        timeout: 20
        on_failure: !GetAtt Failed.Arn
        events:
          Jobs: {queue: !GetAtt Work.Arn, batch_size: 5}
          Changes: {stream: !GetAtt Orders.StreamArn, on_failure: !Ref Events,
                    filter: {eventName: [INSERT]}}
          Hourly: {schedule: rate(1 hour), dead_letter: !GetAtt Failed.Arn,
                   time_zone: Europe/Paris}
          Told: {topic: !Ref Events, filter: {type: [cancelled]}}
          Custom: {rule: {source: [shop.orders]}}
          Uploaded: {bucket: !Ref Uploads, prefix: in/, suffix: .csv}
    """


@pytest.fixture
def built(mini, cli) -> dict:
    write_files(mini, {"blueprints/shop/03-events.yaml": STAGE})
    run = cli(mini, "synth")
    assert run.code == 0, run.err
    return yaml.safe_load((mini / "build/dev/shop/03-events.yaml").read_text())["Resources"]


def _policy(resources: dict, role: str) -> list[dict]:
    return resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def _grants(resources: dict, role: str) -> dict[str, list]:
    """Each granted action → the resources it is granted on."""
    found: dict[str, list] = {}
    for statement in _policy(resources, role):
        for action in statement["Action"]:
            found.setdefault(action, []).extend(statement["Resource"])
    return found


def test_a_queue_is_encrypted_retained_and_has_a_dead_letter_queue(built):
    work, dlq = built["Work"], built["WorkDlq"]
    assert work["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["SqsManagedSseEnabled"] is True
    assert work["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["WorkDlq", "Arn"]}, "maxReceiveCount": 3}
    assert dlq["Properties"]["MessageRetentionPeriod"] == 1_209_600
    assert work["Properties"]["MessageRetentionPeriod"] == 345_600
    for queue in (work, dlq):
        assert queue["DeletionPolicy"] == queue["UpdateReplacePolicy"] == "Retain"


def test_visibility_is_six_times_the_consumers_timeout(built):
    assert built["Work"]["Properties"]["VisibilityTimeout"] == 120
    assert built["Failed"]["Properties"]["VisibilityTimeout"] == 30   # no consumer


def test_queues_and_topics_refuse_plain_http(built):
    statements = built["WorkPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    denied = {s["Resource"][0]["Fn::GetAtt"][0] for s in statements
              if s["Effect"] == "Deny" and s["Condition"] == {
                  "Bool": {"aws:SecureTransport": False}}}
    assert denied == {"Work", "WorkDlq"}
    topic = built["EventsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert topic == [{"Action": ["sns:Publish"], "Condition": {
        "Bool": {"aws:SecureTransport": False}}, "Effect": "Deny", "Principal": "*",
        "Resource": [{"Ref": "Events"}], "Sid": "PublishOnlyOverTls"}]
    assert built["Events"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"


def test_a_subscribed_queue_allows_exactly_its_topic(built):
    subscription = built["EventsToNotices"]["Properties"]
    assert subscription["Protocol"] == "sqs" and subscription["RawMessageDelivery"] is True
    assert subscription["FilterPolicy"] == {"type": ["shipped"]}
    allowed = [s for s in built["NoticesPolicy"]["Properties"]["PolicyDocument"]["Statement"]
               if s["Effect"] == "Allow"]
    assert allowed == [{"Action": ["sqs:SendMessage"], "Condition": {"ArnEquals": {
        "aws:SourceArn": {"Ref": "Events"}}}, "Effect": "Allow",
        "Principal": {"Service": ["sns.amazonaws.com"]},
        "Resource": [{"Fn::GetAtt": ["Notices", "Arn"]}], "Sid": "EventsDelivers"}]
    assert [s for s in built["WorkPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Allow"] == []


def test_each_trigger_grants_exactly_what_it_needs(built):
    assert _grants(built, "WorkerRole") == {
        "logs:CreateLogStream": [{"Fn::GetAtt": ["WorkerLogGroup", "Arn"]}],
        "logs:PutLogEvents": [{"Fn::GetAtt": ["WorkerLogGroup", "Arn"]}],
        # the queue trigger: Lambda polls as the function
        "sqs:DeleteMessage": [{"Fn::GetAtt": ["Work", "Arn"]}],
        "sqs:GetQueueAttributes": [{"Fn::GetAtt": ["Work", "Arn"]}],
        "sqs:ReceiveMessage": [{"Fn::GetAtt": ["Work", "Arn"]}],
        # the stream trigger, and its on-failure topic
        "dynamodb:DescribeStream": [{"Fn::GetAtt": ["Orders", "StreamArn"]}],
        "dynamodb:GetRecords": [{"Fn::GetAtt": ["Orders", "StreamArn"]}],
        "dynamodb:GetShardIterator": [{"Fn::GetAtt": ["Orders", "StreamArn"]}],
        "dynamodb:ListStreams": [{"Fn::GetAtt": ["Orders", "StreamArn"]}],
        "sns:Publish": [{"Ref": "Events"}],
        # on_failure of asynchronous invocations
        "sqs:SendMessage": [{"Fn::GetAtt": ["Failed", "Arn"]}],
        "xray:PutTelemetryRecords": ["*"], "xray:PutTraceSegments": ["*"]}
    assert _grants(built, "WorkerHourlyRole") == {
        "lambda:InvokeFunction": [{"Fn::GetAtt": ["Worker", "Arn"]}],
        "sqs:SendMessage": [{"Fn::GetAtt": ["Failed", "Arn"]}]}
    trust = built["WorkerHourlyRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": ["scheduler.amazonaws.com"]}
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Fn::Sub": "${AWS::AccountId}"}}}


def test_invoke_permissions_name_their_one_source(built):
    permissions = {k: v["Properties"] for k, v in built.items()
                   if v["Type"] == "AWS::Lambda::Permission"}
    assert {k: (p["Principal"], p["SourceArn"]) for k, p in permissions.items()} == {
        "WorkerToldPermission": ("sns.amazonaws.com", {"Ref": "Events"}),
        "WorkerCustomPermission": ("events.amazonaws.com",
                                   {"Fn::GetAtt": ["WorkerCustom", "Arn"]}),
        "WorkerUploadedPermission": ("events.amazonaws.com",
                                     {"Fn::GetAtt": ["WorkerUploaded", "Arn"]})}


def test_triggers_are_wired(built):
    jobs = built["WorkerJobs"]["Properties"]
    assert jobs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert jobs["BatchSize"] == 5
    changes = built["WorkerChanges"]["Properties"]
    assert changes["StartingPosition"] == "LATEST" and changes["MaximumRetryAttempts"] == 3
    assert changes["DestinationConfig"] == {"OnFailure": {"Destination": {"Ref": "Events"}}}
    assert changes["FilterCriteria"] == {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]}
    hourly = built["WorkerHourly"]["Properties"]
    assert hourly["ScheduleExpression"] == "rate(1 hour)"
    assert hourly["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert built["WorkerAsync"]["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["Failed", "Arn"]}}}
    uploaded = built["WorkerUploaded"]["Properties"]["EventPattern"]
    assert uploaded["detail"]["object"] == {"key": [{"wildcard": "in/*.csv"}]}
    assert built["Uploads"]["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}}


def test_the_guard_and_checkov_find_nothing(built, mini):
    assert check_template({"Resources": built}) == []
    report = checkov(str(mini / "build/dev/shop/03-events.yaml"))
    results = report if "results" in report else report[0]
    assert unexplained(results["results"]) == []


@pytest.mark.parametrize(("stage", "message"), [
    ("""\
    resources:
      Q: {kind: queue}
      F:
        kind: function
        code: shop_worker
        events:
          Both: {queue: !GetAtt Q.Arn, schedule: rate(1 hour)}
    """, "7:13: resources.F.events.Both: a trigger names exactly one of queue, stream, "
         "schedule, topic, bucket, rule; you gave queue, schedule"),
    ("""\
    resources:
      Q: {kind: queue}
      F:
        kind: function
        code: shop_worker
        events:
          Jobs: {queue: !GetAtt Q.Arn, time_zone: Europe/Paris}
    """, "7:36: resources.F.events.Jobs.time_zone: 'time_zone' is not an option of a queue "
         "trigger; its options are batch_size, enabled, filter, partial_failures, window"),
    ("""\
    resources:
      Q: {kind: queue, visibility_timeout: 30}
      F:
        kind: function
        code: shop_worker
        timeout: 60
        events:
          Jobs: {queue: !GetAtt Q.Arn}
    """, "2:40: resources.Q.visibility_timeout: 30s is shorter than the timeout of the "
         "function consuming it (60s)"),
    ("""\
    resources:
      T: {kind: table, key: {id: S}}
      F: {kind: function, code: shop_worker, on_failure: !GetAtt T.Arn}
    """, "3:54: resources.F.on_failure: expected a queue or a topic, but this names a table"),
    ("""\
    resources:
      T:
        kind: topic
        subscriptions: [{queue: arn:aws:sqs:eu-west-1:123456789012:elsewhere}]
    """, "resources.T.subscriptions[0].queue: name a queue of this stage"),
])
def test_wrong_shapes_are_located_errors(mini, cli, stage, message):
    write_files(mini, {"blueprints/shop/03-events.yaml": stage})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1 and message in run.err, run.err
    assert "Traceback" not in run.err


NODE = """\
    resources:
      F: {kind: function, code: shop_node, runtime: nodejs22.x, handler: %s}
    """


@pytest.mark.parametrize(("files", "handler", "message"), [
    ({"index.mjs": "export const handler = async () => ({});\n"}, "index.handler", None),
    ({"app.js": "exports.main = async () => ({});\n"}, "app.main", None),
    ({"index.mjs": "export const handler = async () => ({});\n"}, "main.handler",
     "no file 'main.js' (or .mjs, .cjs) in lambda_code/shop_node/"),
    ({"index.js": "exports.other = 1;\n"}, "index.handler",
     "lambda_code/shop_node/index.js does not export 'handler'"),
])
def test_node_handlers_are_checked_at_synth(mini, cli, files, handler, message):
    write_files(mini, {f"lambda_code/shop_node/{n}": t for n, t in files.items()})
    write_files(mini, {"blueprints/shop/03-node.yaml": NODE % handler})
    run = cli(mini, "synth", "--no-lint")
    if message is None:
        assert run.code == 0, run.err
    else:
        assert run.code == 1 and message in run.err, run.err


def test_a_queue_of_another_stage_too_quick_for_its_consumer_is_an_error(mini, cli):
    write_files(mini, {"blueprints/shop/03-queue.yaml": """\
        resources:
          Jobs: {kind: queue}
        outputs:
          JobsArn: !GetAtt Jobs.Arn
        """, "blueprints/shop/04-worker.yaml": """\
        resources:
          Work:
            kind: function
            code: shop_worker
            timeout: 60
            events:
              Jobs: {queue: !Output queue.JobsArn}
        """})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert "resources.Work.events.Jobs: the queue's visibility timeout (30s) is shorter " \
           "than this function's timeout (60s)" in run.err and "visibility_timeout: 360" \
           in run.err
