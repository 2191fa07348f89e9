"""Deploying both systems to the local cloud (MiniStack), started by the tests.

Covers what the local cloud really does; what it cannot (the mutual-TLS handshake, DNS,
bucket privacy, refusing updates in ROLLBACK_COMPLETE) is covered on Stubber instead.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from generator.build import synth
from generator.deploy.clean import clean, purge
from generator.deploy.cloud import Cloud, Target
from generator.deploy.localurls import local_outputs
from generator.deploy.manifest import load_stacks

from .conftest import write_files
from .localcloud import LocalCloud, deploy, project

pytestmark = pytest.mark.slow
# The orders app has its own module (tests/test_orders_local.py).
APPS = ["raffle", "customers"]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("ministack"))
    yield cloud
    cloud.stop()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def first(root, local):
    return deploy(root, local, apps=APPS)


def outputs(root, local, stack: str) -> dict:
    cloud = Cloud(Target.local_cloud(local.endpoint))
    spec = next(s for s in load_stacks(str(root), "dev", None) if s.name == stack)
    return local_outputs(cloud, stack, spec.region, cloud.stack(stack, spec.region).outputs)


def call(method: str, url: str, body=None, headers=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_the_local_cloud_listens_on_loopback_only(local):
    addresses = local.listening_addresses()
    assert addresses and addresses <= {"0100007F", "00000000000000000000000001000000"}


def test_deploy_both_apps_from_scratch(first):
    outcome, text, _ = first
    assert not outcome.failures, outcome.failures
    assert {k: v for k, v in outcome.results.items()} == {
        "blueprint-assets@eu-west-1": "created",
        "raffle-dev-table": "created", "raffle-dev-functions": "created",
        "raffle-dev-truststore": "created", "raffle-dev-api": "created",
        "raffle-dev-site": "created", "customers-dev-key": "created",
        "customers-dev-data": "created", "customers-dev-api": "created"}
    assert "uploaded build/ca/RootCA.pem" in text
    assert "stored the API key in SSM /customers/dev/api-key" in text


def test_the_raffle_works(first, root, local):
    api = outputs(root, local, "raffle-dev-api")["ApiUrl"]
    assert api.startswith(f"{local.endpoint}/_aws/execute-api/")
    assert call("POST", f"{api}/apply", {"email": "ann@example.com"}) == \
        (201, {"email": "ann@example.com", "ticket": 1})
    assert call("POST", f"{api}/apply", {"email": "bob@example.com"})[0] == 201
    assert call("GET", f"{api}/count") == (200, {"count": 2})
    assert call("POST", f"{api}/apply", {"email": "ann@example.com"})[0] == 409
    assert call("POST", f"{api}/apply", {"email": "ann\u202e@example.com"})[0] == 400
    request = urllib.request.Request(f"{api}/apply", data=b"[" * 1500 + b"]" * 1500,
                                     method="POST")
    with pytest.raises(urllib.error.HTTPError) as deep:
        urllib.request.urlopen(request, timeout=30)
    assert deep.value.code == 400


def _organiser(root, local) -> dict:
    """The organiser's header, with the token Secrets Manager generated at deploy time."""
    secret = outputs(root, local, "raffle-dev-functions")["OrganiserTokenSecret"]
    token = local.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
    return {"authorization": f"Bearer {token}"}


def test_the_draw_is_the_organisers_and_happens_once(first, root, local):
    """The Lambda REQUEST authorizer really runs on the local cloud: no token is a 401
    from API Gateway itself, a wrong one a 403, the organiser's draws once."""
    api = outputs(root, local, "raffle-dev-api")["ApiUrl"]
    assert call("POST", f"{api}/apply", {"email": "carol@example.com"})[0] in (201, 409)
    assert call("POST", f"{api}/draw") == (401, {"message": "Unauthorized"})
    assert call("POST", f"{api}/draw", headers={"authorization": "Bearer guess"}) == \
        (403, {"message": "Forbidden"})
    organiser = _organiser(root, local)
    status, body = call("POST", f"{api}/draw", headers=organiser)
    assert status == 200 and set(body) == {"winner", "ticket"}
    assert body["winner"] in ("ann@example.com", "bob@example.com", "carol@example.com")
    assert call("POST", f"{api}/draw", headers=organiser) == (status, body)
    assert call("POST", f"{api}/apply", {"email": "dan@example.com"}) == \
        (409, {"error": "the winner is drawn; entries are closed"})
    assert call("GET", f"{api}/count")[0] == 200           # count stays public


def test_the_custom_domain_guards_the_draw_too(first, root, local):
    base = f"{local.endpoint}/raffle"
    domain = {"Host": "api.areulucky.com"}
    assert call("GET", f"{base}/count", headers=domain)[0] == 200
    assert call("POST", f"{base}/draw", headers=domain)[0] == 401
    assert call("POST", f"{base}/draw", headers={**domain, **_organiser(root, local)})[0] \
        == 200


def test_the_customers_api_needs_its_key(first, root, local):
    url = outputs(root, local, "customers-dev-api")["CustomersUrl"]
    assert call("POST", url, {"firstname": "Your Name here"})[0] == 403
    key = local.client("ssm").get_parameter(Name="/customers/dev/api-key",
                                            WithDecryption=True)["Parameter"]
    assert key["Type"] == "SecureString"
    status, body = call("POST", url, {"firstname": "Your Name here"},
                        {"x-api-key": key["Value"]})
    assert status == 201
    item = local.client("dynamodb").get_item(TableName="DA_Serverless",
                                             Key={"id": {"S": body["id"]}})["Item"]
    assert item == {"id": {"S": body["id"]}, "firstname": {"S": "Your Name here"}}
    request = urllib.request.Request(url, data=("[" * 1500 + "]" * 1500).encode(),
                                     method="POST", headers={"x-api-key": key["Value"]})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    assert call("POST", url, {"firstname": "A", "email": "Your Name here"},
                {"x-api-key": key["Value"]})[0] == 400


def test_a_second_deploy_makes_no_write_call(first, root, local):
    outcome, _, cloud = deploy(root, local, apps=APPS)
    assert set(outcome.results.values()) == {"unchanged"}
    assert cloud.writes == []
    assert "CreateChangeSet" not in cloud.calls


def test_outputs_on_the_local_cloud_are_callable_urls(first, root, local):
    api = outputs(root, local, "raffle-dev-api")
    assert api["ApiUrl"].startswith(f"{local.endpoint}/_aws/execute-api/")
    assert api["ApiUrl"].endswith(f"/{api['ApiStageName']}")
    site = outputs(root, local, "raffle-dev-site")
    assert site["SiteUrl"] == f"http://localhost:{local.port}/{site['SiteBucket']}/apply.html"
    with urllib.request.urlopen(site["SiteUrl"], timeout=30) as page:
        html = page.read().decode()
    assert f'<meta name="api-url" content="{outputs(root, local, "raffle-dev-api")["ApiUrl"]}">' \
        in html
    customers = outputs(root, local, "customers-dev-api")["CustomersUrl"]
    assert customers.startswith(f"{local.endpoint}/_aws/execute-api/")
    assert customers.endswith("/dev/customers")


def test_plan_shows_changes_and_executes_nothing(first, root, local, tmp_path):
    from generator.deploy.runner import Options

    handler = root / "lambda_code/raffle_draw/handler.py"
    original = handler.read_text()
    handler.write_text(original + "\n# planned\n")
    synth(str(root), cache_path=None, run_lint=False)
    try:
        outcome, text, cloud = deploy(root, local, apps=["raffle"],
                                      options=Options(plan_only=True))
        assert outcome.results["raffle-dev-functions"] == "planned"
        assert "Modify  Draw " in text
        assert [w for w in cloud.writes if w not in ("CreateChangeSet", "DeleteChangeSet")] == []
        again, _, _ = deploy(root, local, apps=["raffle"], options=Options(plan_only=True))
        assert again.results["raffle-dev-functions"] == "planned"
        markdown = "\n".join(outcome.markdown)
        assert "### raffle-dev-functions" in markdown and "| Modify | `Draw` |" in markdown
    finally:
        handler.write_text(original)
        synth(str(root), cache_path=None, run_lint=False)


def test_a_changed_lambda_updates_only_its_stack(first, root, local):
    handler = root / "lambda_code/raffle_count/handler.py"
    handler.write_text(handler.read_text() + "\n# counted\n")
    synth(str(root), cache_path=None, run_lint=False)
    outcome, text, _ = deploy(root, local, apps=APPS)
    changed = {k: v for k, v in outcome.results.items() if v != "unchanged"}
    assert changed == {"raffle-dev-functions": "updated"}
    assert "Modify  Count " in text


def test_a_widened_permission_is_spelled_out_before_it_is_deployed(first, root, local):
    stage = root / "blueprints/raffle/02-functions.yaml"
    original = stage.read_text()
    stage.write_text(original.replace(
        "      - {resource: !Output table.TableArn, allow: [dynamodb:GetItem]}\n  Draw:",
        "      - {resource: !Output table.TableArn, allow: [dynamodb:GetItem, "
        "dynamodb:Query]}\n  Draw:"))
    synth(str(root), cache_path=None, run_lint=False)
    try:
        outcome, text, _ = deploy(root, local, apps=["raffle"])
        assert outcome.results["raffle-dev-functions"] == "updated"
        assert "security changes (new permissions or weaker protections):" in text
        assert '+ allow dynamodb:Query on {"Ref": "TableTableArn"}' in text
        assert "+ allow dynamodb:GetItem" not in text
    finally:
        stage.write_text(original)
        synth(str(root), cache_path=None, run_lint=False)


FAULTY_APP = {
    "blueprints/faulty/app.yaml": "version: 1\nname: faulty\nenvironments:\n"
                                  "  dev: {region: eu-west-1}\n",
    "blueprints/faulty/01-queue.yaml": "resources:\n  Queue:\n    kind: raw\n"
                                       "    type: AWS::SQS::Queue\n  Name:\n    kind: raw\n"
                                       "    type: AWS::SSM::Parameter\n"
                                       "    properties: {Type: String, Value: !GetAtt Queue.Nope}\n"
                                       "outputs:\n  QueueUrl: !Ref Queue\n",
    "blueprints/faulty/02-user.yaml": "resources:\n  Copy:\n    kind: parameter\n"
                                      "    name: /faulty/queue\n"
                                      "    value: !Output queue.QueueUrl\n",
}


def test_a_failed_create_ends_cleanly_and_a_rerun_converges(first, root, local):
    write_files(root, FAULTY_APP)
    synth(str(root), cache_path=None, run_lint=False)   # cfn-lint would catch this one
    outcome, _, cloud = deploy(root, local, apps=["faulty"])
    message = outcome.failures["faulty-dev-queue"]
    assert "faulty-dev-queue failed: Name (AWS::SSM::Parameter)" in message
    assert "rolled back and holds nothing; fix the cause and deploy again" in message
    assert outcome.results["faulty-dev-user"] == "not started (a dependency failed)"
    assert cloud.stack("faulty-dev-queue", "eu-west-1").status == "ROLLBACK_COMPLETE"

    write_files(root, {"blueprints/faulty/01-queue.yaml": FAULTY_APP[
        "blueprints/faulty/01-queue.yaml"].replace("Queue.Nope", "Queue.Arn")})
    synth(str(root), cache_path=None, run_lint=False)
    outcome, text, cloud = deploy(root, local, apps=["faulty"])
    assert outcome.results == {"faulty-dev-queue": "created", "faulty-dev-user": "created"}
    assert "ROLLBACK_COMPLETE: it holds nothing, so it is deleted and created again" in text


def test_deploying_one_stage_uses_what_is_already_deployed(first, root, local):
    stacks = [s for s in load_stacks(str(root), "dev", ["raffle"]) if s.stage == "api"]
    outcome, _, cloud = deploy(root, local, apps=["raffle"], stages=["api"])
    assert outcome.results == {"raffle-dev-api": "unchanged"}
    assert cloud.writes == [] and len(stacks) == 1


def test_status_names_a_deployed_stack_whose_stage_was_removed(first, root, local, cli):
    (root / "blueprints/faulty/02-user.yaml").unlink()
    synth(str(root), cache_path=None, run_lint=False)
    run = cli(root, "status", "--endpoint", local.endpoint, "--app", "faulty")
    assert run.code == 0
    assert "faulty-dev-user" in run.out and "not in build/ (its stage was removed?)" in run.out
    assert "aws cloudformation delete-stack --stack-name faulty-dev-user --region " \
           "eu-west-1" in run.out


def test_a_template_over_51200_bytes_goes_through_the_asset_bucket(first, root, local):
    padding = "".join(f"      Key{i:04d}: {'x' * 40}\n" for i in range(1100))
    write_files(root, {
        "blueprints/big/app.yaml": "version: 1\nname: big\nenvironments:\n"
                                   "  dev: {region: eu-west-1}\n",
        "blueprints/big/01-big.yaml": "resources:\n  Queue:\n    kind: raw\n"
                                      "    type: AWS::SQS::Queue\n    properties:\n"
                                      "      Tags:\n        - {Key: size, Value: big}\n"
                                      "  Meta:\n    kind: raw\n    type: AWS::SSM::Parameter\n"
                                      "    properties:\n      Type: String\n"
                                      "      Value: padded\n      Tags:\n" + padding})
    synth(str(root), cache_path=None, run_lint=False)
    assert (root / "build/dev/big/01-big.yaml").stat().st_size > 51_200
    outcome, _, cloud = deploy(root, local, apps=["big"])
    assert outcome.results == {"blueprint-assets@eu-west-1": "unchanged",
                               "big-dev-big": "created"}
    assert "PutObject" in cloud.writes


def test_status_says_which_stacks_are_current(first, root, local, cli):
    run = cli(root, "status", "--endpoint", local.endpoint, "--app", "raffle")
    assert run.code == 0
    lines = {line.split()[0]: line for line in run.out.splitlines()}
    assert "CREATE_COMPLETE" in lines["raffle-dev-table"]
    assert lines["raffle-dev-table"].rstrip().endswith("current")


def test_clean_removes_stacks_and_keeps_tables_with_their_items(first, root, local):
    cloud = Cloud(Target.local_cloud(local.endpoint))
    said = []
    kept = clean(cloud, load_stacks(str(root), "dev", ["raffle", "customers"]),
                 lambda stack, message: said.append((stack, message)))
    for spec in load_stacks(str(root), "dev", ["raffle", "customers"]):
        assert cloud.stack(spec.name, spec.region) is None
    kept_ids = {(k.stack, k.logical_id) for k in kept}
    assert {("raffle-dev-table", "Entries"), ("customers-dev-data", "Table"),
            ("customers-dev-key", "Key"), ("raffle-dev-truststore", "Truststore"),
            ("raffle-dev-truststore", "TruststoreLogs"),
            ("raffle-dev-functions", "ApplyLogGroup")} <= kept_ids
    dynamodb = local.client("dynamodb")
    entries = dynamodb.scan(TableName="dynamodb-table-lottery")["Items"]
    assert {"ann@example.com", "bob@example.com"} <= {i["email"]["S"] for i in entries}
    assert dynamodb.scan(TableName="DA_Serverless")["Count"] >= 1
    assert any("emptied bucket" in message for _, message in said)
    table = next(k for k in kept if k.logical_id == "Entries")
    assert table.how_to_delete == "aws dynamodb delete-table --table-name " \
                                  "dynamodb-table-lottery --region eu-west-1"

    group = next(k for k in kept if k.logical_id == "ApplyLogGroup")
    logs = local.client("logs")
    assert logs.describe_log_groups(logGroupNamePrefix=group.physical_id)["logGroups"]
    purge(cloud, [table, group], lambda stack, message: said.append((stack, message)))
    assert "dynamodb-table-lottery" not in dynamodb.list_tables()["TableNames"]
    assert not logs.describe_log_groups(logGroupNamePrefix=group.physical_id)["logGroups"]
    assert "DA_Serverless" in dynamodb.list_tables()["TableNames"]


def test_clean_without_a_terminal_or_yes_deletes_nothing(first, root, local, cli):
    run = cli(root, "clean", "--endpoint", local.endpoint, "--app", "big")
    assert run.code == 3        # not done for lack of consent
    assert "clean deletes stacks: confirm in a terminal, or add --yes" in run.err
    cloud = Cloud(Target.local_cloud(local.endpoint))
    assert cloud.stack("big-dev-big", "eu-west-1") is not None
    run = cli(root, "clean", "--endpoint", local.endpoint, "--app", "big", "--yes")
    assert run.code == 0 and "[big-dev-big] deleted" in run.out
    assert cloud.stack("big-dev-big", "eu-west-1") is None


def test_local_up_and_down_by_pid(tmp_path, cli):
    from generator.deploy import localcloud

    port = localcloud.free_port()
    run = cli(tmp_path, "local", "up", "--port", str(port))
    assert run.code == 0 and f"local cloud up at http://127.0.0.1:{port}" in run.out
    assert localcloud.healthy(port)
    pid = int((tmp_path / ".cache/localcloud/pid").read_text().split()[0])
    again = cli(tmp_path, "local", "up", "--port", str(port))     # make local, again
    assert again.code == 0 and f"(pid {pid}); reusing it" in again.out
    foreign = cli(tmp_path / "elsewhere", "local", "up", "--port", str(port))
    assert foreign.code == 1 and "something already answers" in foreign.err
    assert f"make local LOCAL_PORT={port + 1}" in foreign.err
    down = cli(tmp_path, "local", "down")
    assert down.code == 0 and f"local cloud stopped (pid {pid})" in down.out
    assert not localcloud.healthy(port)
    assert not (tmp_path / ".cache/localcloud/pid").exists()

