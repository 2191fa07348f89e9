"""The orders app on the local cloud (MiniStack): deployed from its committed-shape
templates, then driven end to end. Bounded: every wait has a deadline.

Not shown here, and not claimed: an alarm firing (that needs CloudWatch metrics over
whole periods; the deployed alarms' metrics and actions are asserted instead), and the
hourly schedule firing (its deployed target and role are asserted, its handler runs in
tests/test_orders_handlers.py). The express state machine's run is proven by its
output in the notification, since express executions are not listed (as on AWS).
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.request

import pytest

from generator.build import synth
from generator.deploy.cloud import Cloud, Target
from generator.deploy.localurls import local_outputs

from .conftest import write_files
from .localcloud import LocalCloud, deploy, project

pytestmark = pytest.mark.slow
DEADLINE = 40.0


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("ministack-orders"))
    yield cloud
    cloud.stop()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, local):
    started = time.monotonic()
    root = project(tmp_path_factory.mktemp("orders"))
    outcome, text, _ = deploy(root, local, apps=["orders"])
    assert not outcome.failures, (outcome.failures, text)
    return {"outputs": _outputs(local), "started": started}


def _outputs(local: LocalCloud) -> dict:
    found = {}
    cfn = local.client("cloudformation")
    for stage in ("messaging", "data", "functions", "api", "site"):
        stack = cfn.describe_stacks(StackName=f"orders-dev-{stage}")["Stacks"][0]
        found.update({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
    return found


def _until(what: str, check, deadline: float = DEADLINE):
    """Poll fast, then back off, until `check()` is truthy; fail after the deadline."""
    start, pause = time.monotonic(), 0.1
    while time.monotonic() - start < deadline:
        value = check()
        if value:
            return value
        time.sleep(pause)
        pause = min(pause * 1.5, 1.0)
    pytest.fail(f"{what}: not within {deadline:.0f} s")


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _api_url(local: LocalCloud, outputs: dict) -> str:
    """OrdersUrl as `outputs --local` gives it: a URL this machine can call."""
    cloud = Cloud(Target.local_cloud(local.endpoint))
    url = local_outputs(cloud, "orders-dev-api", "eu-west-1",
                        {"OrdersUrl": outputs["OrdersUrl"]})["OrdersUrl"]
    assert url == (f"{local.endpoint}/_aws/execute-api/{outputs['ApiId']}/"
                   f"{outputs['ApiStageName']}/orders")
    return url


def _receive(local: LocalCloud, url: str) -> list[dict]:
    sqs = local.client("sqs")
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                               MessageAttributeNames=["All"],
                               WaitTimeSeconds=1).get("Messages", [])


def test_an_order_is_stored_fulfilled_and_notified(deployed, local):
    outputs = deployed["outputs"]
    status, body = _post(_api_url(local, outputs), {"item": "teapot", "quantity": 2})
    assert status == 202, body
    table = local.client("dynamodb")
    item = _until("the order in the table", lambda: table.get_item(
        TableName=outputs["TableName"], Key={"id": {"S": body["id"]}}).get("Item"))
    assert item == {"id": {"S": body["id"]}, "item": {"S": "teapot"},
                    "quantity": {"N": "2"}, "status": {"S": "placed"}}
    messages = _until("the notification", lambda: _receive(local,
                                                           outputs["NotificationsUrl"]))
    notified = json.loads(messages[0]["Body"])        # raw delivery: the message itself
    assert notified == {"id": body["id"], "item": "teapot", "quantity": 2,
                        "status": "fulfilled"}        # the state machine's output
    attributes = messages[0]["MessageAttributes"]
    assert attributes["type"]["StringValue"] == "order_placed"
    assert len(attributes["signature"]["StringValue"]) == 64


def test_a_bad_order_is_refused_before_anything_is_queued(deployed, local):
    status, body = _post(_api_url(local, deployed["outputs"]), {"item": "", "quantity": 0})
    assert status == 400 and "item" in body["error"]


def test_a_poisoned_message_reaches_the_dead_letter_queue(deployed, local):
    """Sent straight to the intake queue (the API never queues one): the worker fails it
    alone every time, and after max_receives (2) SQS moves it to IntakeDlq. The queue's
    visibility (30 s, six times the worker's timeout) is shortened on the deployed queue
    so the test waits seconds, not minutes; the redrive is still SQS's own."""
    outputs = deployed["outputs"]
    sqs = local.client("sqs")
    sqs.set_queue_attributes(QueueUrl=outputs["IntakeUrl"],
                             Attributes={"VisibilityTimeout": "1"})
    sqs.send_message(QueueUrl=outputs["IntakeUrl"], MessageBody="not an order")
    moved = _until("the poisoned message in the dead-letter queue",
                   lambda: _receive(local, outputs["IntakeDlqUrl"]))
    assert [m["Body"] for m in moved] == ["not an order"]


def test_the_schedule_and_alarms_exist_and_point_where_they_should(deployed, local):
    outputs = deployed["outputs"]
    schedules = local.client("scheduler").list_schedules()["Schedules"]
    hourly = [local.client("scheduler").get_schedule(Name=s["Name"]) for s in schedules]
    report = [s for s in hourly if s["Target"]["Arn"].endswith(f":{outputs['ReportName']}")]
    assert len(report) == 1 and report[0]["ScheduleExpression"] == "rate(1 hour)"
    assert ":role/" in report[0]["Target"]["RoleArn"]
    alarms = local.client("cloudwatch").describe_alarms()["MetricAlarms"]
    by_metric = {(a["Namespace"], a["MetricName"]): a for a in alarms}
    assert set(by_metric) >= {("AWS/Lambda", "Errors"),
                              ("AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    assert {tuple(a["AlarmActions"]) for a in alarms} == {(outputs["OpsTopicArn"],)}


def test_the_page_on_cloudfront_net_names_the_orders_url(deployed, local):
    outputs = deployed["outputs"]
    assert outputs["SiteUrl"].startswith("https://") and \
        outputs["SiteUrl"].endswith(".cloudfront.net")
    page = local.client("s3").get_object(Bucket=outputs["SiteBucket"], Key="index.html")
    # published with the URL this machine can call, as `outputs --local` gives it
    assert f"curl -X POST {_api_url(local, outputs)} " in page["Body"].read().decode()


def test_a_failed_asynchronous_run_goes_to_its_on_failure_queue(deployed, local):
    """The report, invoked as its schedule does (asynchronously), fails when its table is
    gone: the deployed function is pointed at a table that does not exist, and Lambda's
    on-failure destination, not the test, puts the failed run in ReportFailures."""
    outputs, functions = deployed["outputs"], local.client("lambda")
    name = outputs["ReportName"]
    config = functions.get_function_configuration(FunctionName=name)["Environment"]
    functions.update_function_configuration(FunctionName=name, Environment={
        "Variables": {**config["Variables"], "TABLE_NAME": "no-such-table"}})
    try:
        functions.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
        failed = _until("the failed run in ReportFailures",
                        lambda: _receive(local, outputs["ReportFailuresUrl"]))
    finally:
        functions.update_function_configuration(FunctionName=name, Environment=config)
    record = json.loads(failed[0]["Body"])
    assert record["requestContext"]["condition"] in ("RetriesExhausted", "EventAgeExceeded")
    assert record["requestContext"]["functionArn"].split(":")[6] == name


NODE_APP = {
    "blueprints/echo/app.yaml": """\
        version: 1
        name: echo
        environments: {dev: {region: eu-west-1}}
        """,
    "blueprints/echo/01-fn.yaml": """\
        resources:
          Echo: {kind: function, code: echo, runtime: nodejs22.x, handler: index.handler}
        outputs:
          EchoName: !Ref Echo
        """,
    "lambda_code/echo/index.mjs": """\
        export const handler = async (event) => ({echoed: event, runtime: process.version});
        """,
}


@pytest.mark.skipif(shutil.which("node") is None,
                    reason="the local cloud runs Node.js functions with this machine's node")
def test_a_nodejs_function_runs_on_the_local_cloud(deployed, local, tmp_path):
    """A Node.js 22 function, zipped as is, deployed and invoked: not a Python stand-in
    (its answer carries node's own version)."""
    write_files(tmp_path, NODE_APP)
    synth(str(tmp_path), cache_path=None, run_lint=False)
    outcome, text, _ = deploy(tmp_path, local, apps=["echo"])
    assert not outcome.failures, text
    stack = local.client("cloudformation").describe_stacks(StackName="echo-dev-fn")
    name = stack["Stacks"][0]["Outputs"][0]["OutputValue"]
    answer = local.client("lambda").invoke(FunctionName=name, Payload=b'{"a": 1}')
    body = json.loads(answer["Payload"].read())
    assert body["echoed"] == {"a": 1} and re.fullmatch(r"v\d+\.\d+\.\d+", body["runtime"])


def test_it_all_took_less_than_a_minute(deployed):
    assert time.monotonic() - deployed["started"] < 60
