"""Every kind of blueprint mistake: one precise error, exit 1, no traceback, build/ intact."""

from __future__ import annotations

import pytest

from generator import source
from generator.errors import BlueprintError
from generator.kinds import registry
from generator.source import parse_yaml

from .conftest import tree_digest, write_files

CODE = "blueprints/shop/02-code.yaml"
DATA = "blueprints/shop/01-data.yaml"
APP = "blueprints/shop/app.yaml"


def code_stage(worker_lines: str) -> str:
    return "resources:\n  Worker:\n    kind: function\n" + worker_lines


CASES = {
    "wrong type": (
        {CODE: code_stage("    code: shop_worker\n    memory: big\n")},
        f"{CODE}:5:13: resources.Worker.memory: expected an integer between 128 and "
        "10240, got 'big'"),
    "unknown key, did you mean": (
        {CODE: code_stage("    code: shop_worker\n    memroy: 256\n")},
        f"{CODE}:5:5: resources.Worker.memroy: unknown key for kind 'function'; expected "
        "one of code, handler, runtime, memory, timeout, architecture, description, "
        "environment, access, include, log_retention, log_key, tracing, reserved_concurrency, "
        "ssm_environment, events, on_failure, async_retries, role; "
        "did you mean 'memory'?"),
    "missing required key": (
        {CODE: code_stage("    memory: 256\n")},
        f"{CODE}:3:5: resources.Worker.code: missing required key for kind 'function': "
        "the handler's folder under lambda_code/"),
    "unknown kind": (
        {CODE: "resources:\n  Worker:\n    kind: functon\n    code: shop_worker\n"},
        f"{CODE}:3:11: resources.Worker.kind: unknown kind 'functon'; expected one of "
        f"{', '.join(registry())}; did you mean 'function'?"),
    "choice with hint": (
        {DATA: "resources:\n  Orders:\n    kind: table\n    key: {id: S}\n"
               "    billing: ondemand\n"},
        f"{DATA}:5:14: resources.Orders.billing: expected one of 'on_demand', "
        "'provisioned', got 'ondemand'; did you mean 'on_demand'?"),
    "duplicate key": (
        {CODE: code_stage("    code: shop_worker\n    memory: 256\n    memory: 512\n")},
        f"{CODE}:6:5: resources.Worker.memory: duplicate key 'memory' (first defined at "
        "line 5); remove one of them"),
    "duplicate key in a list": (
        {CODE: code_stage("    code: shop_worker\n    policies:\n    - {actions: [a], "
                          "actions: [b]}\n")},
        f"{CODE}:6:22: resources.Worker.policies[0].actions: duplicate key 'actions' "
        "(first defined at line 6); remove one of them"),
    "tab indentation": (
        {CODE: code_stage("    code: shop_worker\n\tmemory: 256\n")},
        f"{CODE}:5:1: tab character in indentation; YAML needs spaces"),
    "invalid YAML": (
        {CODE: code_stage("    code: shop_worker\n    environment: {A: 1\n")},
        f"{CODE}:5:18: invalid YAML: the '{{' here is not closed (or an item in it "
        "lacks a ','); add '}'"),
    "unknown tag": (
        {CODE: code_stage("    code: shop_worker\n    environment: {A: !Reff Worker}\n")},
        f"{CODE}:5:22: unknown tag '!Reff'; use one of !Ref, !GetAtt, !Sub, !Join, "
        "!Select, !If, !Equals, !FindInMap, !Base64, !Split, !Not, !And, !Or, "
        "!ImportValue, !GetAZs, !Cidr, !Condition, !Output"),
    "unknown !Ref target": (
        {CODE: code_stage("    code: shop_worker\n    environment: {A: !Ref Workr}\n")},
        f"{CODE}:5:22: resources.Worker.environment.A: !Ref names 'Workr', which this "
        "stage does not define; it defines Worker, WorkerRole, WorkerLogGroup; "
        "did you mean 'Worker'?"),
    "unknown !GetAtt attribute": (
        {CODE: code_stage("    code: shop_worker\n    environment: {A: !GetAtt Worker.Ar}\n")},
        f"{CODE}:5:22: resources.Worker.environment.A: !GetAtt Worker.Ar: 'Worker' has "
        "no attribute 'Ar'; it has Arn; did you mean 'Arn'?"),
    "unknown !Sub variable": (
        {CODE: code_stage("    code: shop_worker\n"
                          "    environment: {A: !Sub '${Wroker.Arn}/x'}\n")},
        f"{CODE}:5:22: resources.Worker.environment.A: !GetAtt names 'Wroker', which "
        "this stage does not define; it defines Worker, WorkerRole, WorkerLogGroup; "
        "did you mean 'Worker'?"),
    "unknown !Output stage": (
        {CODE: code_stage("    code: shop_worker\n    environment: {A: !Output dta.TableName}\n")},
        f"{CODE}:5:22: resources.Worker.environment.A: !Output dta.TableName: no stage "
        "'dta' in app 'shop'; stages: data; did you mean 'data'?"),
    "unknown !Output name": (
        {CODE: code_stage("    code: shop_worker\n    environment: {A: !Output data.Name}\n")},
        f"{CODE}:5:22: resources.Worker.environment.A: !Output data.Name: stage 'data' "
        "has no output 'Name'; it has TableArn, TableName; did you mean 'TableName'?"),
    "dependency cycle": (
        {DATA: "resources:\n  Orders:\n    kind: table\n    key: {id: S}\n"
               "    name: !Output code.WorkerName\noutputs:\n  TableName: !Ref Orders\n"
               "  TableArn: !GetAtt Orders.Arn\n",
         CODE: code_stage("    code: shop_worker\n    environment: {A: !Output data.TableName}\n"
                          "outputs:\n  WorkerName: !Ref Worker\n")},
        f"{CODE}:5:22: dependency cycle between stages: code → data → code (code uses "
        f"data at {CODE}:5:22, data uses code at {DATA}:5:11); a stage cannot use "
        "!Output of a stage that depends on it"),
    "undefined template value": (
        {CODE: code_stage("    code: shop_worker\n    description: for {{ domian }}\n")},
        f"{CODE}:5:22: undefined value 'domian' in {{{{ … }}}}; environment 'dev' (app.yaml "
        "environments.dev.values) defines: app, domain, env, region; did you mean 'domain'?"),
    "access level the kind lacks": (
        {CODE: code_stage("    code: shop_worker\n    access:\n"
                          "      - {resource: !Output data.TableArn, allow: [fly]}\n")},
        f"{CODE}:6:9: resources.Worker.access[0].allow: a table has no access level 'fly'; "
        "its levels are read, write, scan"),
    "access level misspelt": (
        {CODE: code_stage("    code: shop_worker\n    access:\n"
                          "      - {resource: !Output data.TableArn, allow: [writ]}\n")},
        f"{CODE}:6:9: resources.Worker.access[0].allow: a table has no access level 'writ'; "
        "did you mean 'write'?; its levels are read, write, scan"),
    "action of another service": (
        {CODE: code_stage("    code: shop_worker\n    access:\n"
                          "      - {resource: !Output data.TableArn, allow: [s3:GetObject]}\n")},
        f"{CODE}:6:9: resources.Worker.access[0].allow: 's3:GetObject' is not a dynamodb "
        "action, but the resource is a table"),
    "wildcard action": (
        {CODE: code_stage("    code: shop_worker\n    access:\n"
                          "      - {resource: !Output data.TableArn, allow: ['dynamodb:*']}\n")},
        f"{CODE}:6:51: resources.Worker.access[0].allow[0]: expected an access level such "
        "as read or write, or an IAM action such as dynamodb:PutItem (no wildcards), "
        "got 'dynamodb:*'"),
    "missing code folder": (
        {CODE: code_stage("    code: shop_wroker\n")},
        f"{CODE}:4:11: resources.Worker.code: no folder lambda_code/shop_wroker/; did you "
        "mean 'shop_worker'?; create it with the handler code, or fix the name"),
    "missing include folder": (
        {CODE: code_stage("    code: shop_worker\n    include: [shop_comon]\n")},
        f"{CODE}:5:14: resources.Worker.include: no folder lambda_code/shop_comon/; create "
        "it with the shared modules, or fix the name"),
    "FullAccess policy": (
        {CODE: "resources:\n  Admin:\n    kind: role\n    service: lambda.amazonaws.com\n"
               "    managed_policies:\n"
               "      - arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess\n"},
        f"{CODE}:6:9: resources.Admin.managed_policies[0]: "
        "'arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess' grants far more than a role "
        "needs; declare access: entries for the resources it uses instead"),
    "bad stage file name": (
        {"blueprints/shop/3-extra.yaml": "resources: {}\n"},
        "blueprints/shop/3-extra.yaml:1:1: a stage file must be named NN-<stage>.yaml "
        "(two digits, a dash, a lower-case name), e.g. 01-table.yaml"),
    "app.yaml: wrong version": (
        {APP: "version: 2\nname: shop\nenvironments:\n  dev: {region: eu-west-1}\n"},
        f"{APP}:1:10: version: expected the integer 1, got 2"),
    "app.yaml: bad region": (
        {APP: "version: 1\nname: shop\nenvironments:\n  dev: {region: europe}\n"},
        f"{APP}:4:17: environments.dev.region: expected an AWS region such as "
        "eu-west-1, got 'europe'"),
    "after-deploy file outside the project": (
        {CODE: code_stage("    code: shop_worker\nafter_deploy:\n  - upload_file:\n"
                          "      {file: ../../etc/passwd, bucket: b, key: k}\n")},
        f"{CODE}:7:14: after_deploy[0].upload_file.file: expected a path inside the project "
        "folder (no leading / and no ..), got '../../etc/passwd'"),
    "empty resources": (
        {CODE: "description: nothing yet\nresources: {}\n"},
        f"{CODE}:2:12: resources: expected at least 1 entries, got 0"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_blueprint_mistake(case, mini, cli):
    changes, expected = CASES[case]
    assert cli(mini, "synth").code == 0
    before = tree_digest(mini / "build")
    write_files(mini, changes)

    run = cli(mini, "synth")

    assert run.code == 1
    assert f"error: {expected}\n" in run.err
    assert "Traceback" not in run.err + run.out
    assert "nothing was written" in run.err
    assert tree_digest(mini / "build") == before


def test_every_problem_is_reported_not_only_the_first(mini, cli):
    write_files(mini, {CODE: code_stage("    code: shop_worker\n    memory: big\n"
                                        "    timeout: 0\n    colour: red\n")})
    run = cli(mini, "synth")
    assert run.code == 1
    errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert [e.split(": ")[2] for e in errors] == [
        "resources.Worker.memory", "resources.Worker.timeout", "resources.Worker.colour"]
    assert "3 problems found; nothing was written" in run.err


def test_debug_shows_no_traceback_for_user_errors_but_internal_errors_say_so(mini, cli):
    write_files(mini, {CODE: code_stage("    code: shop_worker\n    memory: big\n")})
    run = cli(mini, "--debug", "synth")
    assert run.code == 1 and "Traceback" not in run.err


def test_problems_in_several_stages_are_reported_together(mini, cli):
    write_files(mini, {
        CODE: code_stage("    code: shop_worker\n    memory: big\n"),
        "blueprints/shop/03-more.yaml": "resources:\n  Q:\n    kind: raw\n"
                                        "    type: AWS::SQS::Queue\n"
                                        "    properties: {QueueName: !Output data.Nme}\n"})
    run = cli(mini, "synth")
    assert run.code == 1
    assert f"error: {CODE}:5:13: resources.Worker.memory" in run.err
    assert "error: blueprints/shop/03-more.yaml:5:29: resources.Q.properties.QueueName: " \
           "!Output data.Nme: stage 'data' has no output 'Nme'" in run.err


def test_positions_inside_jinja_blocks_name_the_line_written(mini, cli):
    write_files(mini, {
        "blueprints/shop/app.yaml": "version: 1\nname: shop\nenvironments:\n  dev:\n"
                                    "    region: eu-west-1\n    values:\n"
                                    "      domain: shop.example\n      queues: [a, b]\n",
        "blueprints/shop/03-queues.yaml": "description: queues\n"
                                          "resources:\n"
                                          "{% for q in queues %}\n"
                                          "  Queue{{ q | upper }}:\n"
                                          "    kind: table\n"
                                          "    key: {id: S}\n"
                                          "    billing: {{ 'ondemand' if q == 'b' else "
                                          "'on_demand' }}\n"
                                          "{% endfor %}\n"})
    run = cli(mini, "synth")
    assert run.code == 1
    # rendered, QueueB's billing is on line 11; it was written on line 7
    assert "error: blueprints/shop/03-queues.yaml:7:14: resources.QueueB.billing: expected " \
           "one of 'on_demand', 'provisioned', got 'ondemand'" in run.err


ANCHORED = """\
shared: &shared
  actions: [a]
  actions: [b]
base: &base
  kind: table
  billing: on_demand
resources:
  A:
    policies: [*shared]
  B:
    <<: *base
    billing: provisioned
    key: {id: S}
    key: {id: N}
"""


def test_a_duplicate_is_named_where_it_is_written():
    """A duplicate inside an anchor is named where the anchor is defined (not where an
    alias repeats it). A key given beside a `<<` that brings it in is refused too: YAML
    lets it override, but PyYAML's merge can then give an anchor's stale value, so a
    blueprint must not rely on it (the message says where the first one is)."""
    with pytest.raises(BlueprintError) as caught:
        parse_yaml(ANCHORED, "f.yaml")
    assert [(str(p.mark), p.path, p.message.split(" (")[0]) for p in caught.value.problems] \
        == [("f.yaml:3:3", "shared.actions", "duplicate key 'actions'"),
            ("f.yaml:12:5", "resources.B.billing", "duplicate key 'billing'"),
            ("f.yaml:14:5", "resources.B.key", "duplicate key 'key'")]
    merged = parse_yaml(ANCHORED.replace("  actions: [b]\n", "").replace(
        "    billing: provisioned\n", "").replace("    key: {id: N}\n", ""), "f.yaml")
    assert merged["resources"]["B"] == {"kind": "table", "billing": "on_demand",
                                        "key": {"id": "S"}}


def test_duplicates_are_placed_with_one_walk_of_the_document(monkeypatch):
    """Many duplicates in a large blueprint cost one walk, not one each."""
    walks = []
    real = source._mapping_paths
    monkeypatch.setattr(source, "_mapping_paths",
                        lambda *args: walks.append(1) or real(*args))
    text = "a:\n" + "  x: 1\n" * 300 + "".join(f"  k{i}: {i}\n" for i in range(2000))
    with pytest.raises(BlueprintError) as caught:
        parse_yaml(text, "f.yaml")
    assert len(caught.value.problems) == 299 and walks == [1]
    assert {p.path for p in caught.value.problems} == {"a.x"}
