"""Mistakes reported where their cause is, with what to do: YAML syntax, bytes, Jinja2
values, names that collide, regions, layout. Exit 1, no traceback, build/ unchanged."""

from __future__ import annotations

import pytest

from .conftest import MINI, tree_digest, write_files

CODE = "blueprints/shop/02-code.yaml"
APP = "blueprints/shop/app.yaml"


def worker(lines: str) -> str:
    return "resources:\n  Worker:\n    kind: function\n    code: shop_worker\n" + lines


def app_yaml(env_lines: str = "", values: str = "      domain: shop.example\n") -> str:
    return ("version: 1\nname: shop\nenvironments:\n  dev:\n    region: eu-west-1\n"
            + env_lines + "    values:\n" + values)


CASES = {
    "unclosed double quote": (
        {CODE: worker('    description: "orders\n    memory: 256\n    timeout: 3\n')},
        f"{CODE}:5:18: invalid YAML: this quoted text is never closed; add the closing \""),
    "unclosed single quote": (
        {CODE: worker("    description: 'orders\n    memory: 256\n")},
        f"{CODE}:5:18: invalid YAML: this quoted text is never closed; add the closing '"),
    "unclosed bracket": (
        {CODE: worker("    include: [shop_common\n    memory: 256\n")},
        f"{CODE}:5:14: invalid YAML: the '[' here is not closed (or an item in it lacks "
        "a ','); add ']'"),
    "bracket left open at the end of the file": (
        {CODE: worker("    include: [\n")},
        f"{CODE}:5:14: invalid YAML: the '[' here is not closed; add ']'"),
    "brace left open at the end, after a quoted bracket and a comment": (
        {CODE: worker("    # a [ in a comment\n    environment: {A: '[', B:\n")},
        f"{CODE}:6:18: invalid YAML: the '{{' here is not closed; add '}}'"),
    "a key indented under a key that has a value": (
        {CODE: worker("    memory: 256\n      timeout: 3\n")},
        f"{CODE}:6:7: invalid YAML: this line is indented deeper than 'memory' on line 5, "
        "which already has a value; line it up with 'memory'"),
    "an environment's value out of range where a stage uses it": (
        {APP: app_yaml(values="      domain: shop.example\n      memory: 64\n"),
         CODE: worker('    memory: "{{ memory }}"\n')},
        f"{CODE}:5:13: resources.Worker.memory: expected an integer between 128 and 10240, "
        f"got 64; {{{{ memory }}}} is 64 in environment 'dev' ({APP}:8:15): change it there"),
    "a filter misspelt in a template": (
        {CODE: worker('    description: "{{ domain | uper }} orders"\n')},
        f"{CODE}:5:19: template error: there is no filter named 'uper'; did you mean "
        "'upper'?"),
    "a {{ }} closed with one brace": (
        {CODE: worker('    description: "{{ domain }"\n')},
        f"{CODE}:5:19: template error: unexpected '}}'; a {{{{ }}}} on this line is not "
        "closed right (each '{{' needs its '}}')"),
    "missing colon after a key": (
        {CODE: worker("    memory 256\n    timeout: 3\n")},
        f"{CODE}:5:5: invalid YAML: 'memory 256' needs a ':' (a key ends with ':', "
        "e.g. 'name: value')"),
    "missing colon after a resource name": (
        {CODE: "resources:\n  Worker\n    kind: function\n    code: shop_worker\n"},
        f"{CODE}:2:3: invalid YAML: 'Worker' needs a ':'"),
    "undefined alias": (
        {CODE: worker("    description: *orders\n")},
        f"{CODE}:5:18: invalid YAML: the alias *orders names no anchor &orders defined "
        "before it"),
    "bad indentation": (
        {CODE: worker("    memory: 256\n   timeout: 3\n")},
        f"{CODE}:6:4: invalid YAML: this line's indentation does not fit the lines above"),
    "a byte that is not UTF-8": (
        {CODE: worker("    description: caf\udce9 orders\n")},
        f"{CODE}:5:21: not UTF-8 text (byte 0xe9 here); save the file as UTF-8"),
    "unquoted account id": (
        {APP: app_yaml("    account: 123456789012\n")},
        f"{APP}:6:14: environments.dev.account: expected a 12-digit AWS account id, got the "
        "number 123456789012; YAML reads unquoted digits as a number: quote it, "
        "'123456789012'"),
    "a value missing in this environment": (
        {CODE: worker("    description: for {{ team }}\n")},
        f"{CODE}:5:22: undefined value 'team' in {{{{ … }}}}; environment 'dev' (app.yaml "
        "environments.dev.values) defines: app, domain, env, region"),
    "a rendered value that breaks YAML": (
        {APP: app_yaml(values="      domain: 'shop: example'\n"),
         CODE: worker("    description: for {{ domain }}\n")},
        f"{CODE}:5:26: invalid YAML: a second ':' on one line; quote the value if it holds "
        "': ' (e.g. \"a: b\") (this line has {{ domain }}, which rendered it as "
        "'description: for shop: example'; quote the value, e.g. \"{{ domain }}\""),
    "a name a kind generates": (
        {CODE: worker("  WorkerRole:\n    kind: raw\n    type: AWS::SQS::Queue\n")},
        f"{CODE}:6:5: resources.WorkerRole: the name WorkerRole is taken: function 'Worker' "
        "generates a resource named WorkerRole; rename WorkerRole"),
    "a control character": (
        {CODE: worker("    description: orders\x01\n")},
        f"{CODE}:5:24: invalid YAML: the control character U+0001 is not allowed; remove it"),
    "a kind that is a list": (
        {CODE: "resources:\n  Worker:\n    kind: [function]\n"},
        f"{CODE}:3:11: resources.Worker.kind: unknown kind a list; expected one of "),
    "a number where the template needs text": (
        {"blueprints/shop/03-domain.yaml": "resources:\n  Domain:\n    kind: api_domain\n"
                                           "    domain: api.shop.example\n"
                                           "    hosted_zone: shop.example\n"
                                           "    certificate: arn:cert\n    truststore: 12345\n"
                                           "    mappings: [{api: a, stage: s}]\n"},
        "blueprints/shop/03-domain.yaml:3:5: resources.Domain: a value has the wrong type: "
        "MutualTlsAuthentication TruststoreUri is int, expected str; quote numbers where "
        "text is expected"),
    "an unknown region": (
        {APP: app_yaml().replace("eu-west-1", "eu-west-9")},
        f"{APP}:5:13: environments.dev.region: unknown region 'eu-west-9'; did you mean "
        "'eu-west-"),
}


@pytest.mark.parametrize("lint", [False, True], ids=["no lint", "lint"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_mistake_is_reported_at_its_cause(case, lint, mini, cli):
    files, expected = CASES[case]
    before = tree_digest(mini / "build")
    for name, text in files.items():
        (mini / name).write_bytes(text.encode("utf-8", "surrogateescape"))

    run = cli(mini, "synth", *([] if lint else ["--no-lint"]))

    assert run.code == 1, run.out
    assert f"error: {expected}" in run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert tree_digest(mini / "build") == before


def test_an_app_yml_is_named_not_skipped(mini, cli):
    (mini / APP).rename(mini / "blueprints/shop/app.yml")
    run = cli(mini, "synth")
    assert run.code == 1
    assert "error: blueprints/shop/app.yml:1:1: the app file must be named app.yaml (not " \
           ".yml); rename it" in run.err


def test_a_region_botocore_knows_but_this_list_does_not_is_accepted(mini, cli, monkeypatch):
    from generator import model

    monkeypatch.setattr(model, "REGIONS", frozenset({"us-east-1"}))
    write_files(mini, {APP: MINI[APP]})
    assert cli(mini, "synth", "--no-lint").code == 0


HANDLERS = {
    "no such function": (
        "    handler: handler.handle\n", {},
        "5:14: resources.Worker.handler: handler handler.handle: "
        "lambda_code/shop_worker/handler.py defines no 'handle'; did you mean 'handler'? "
        "(its functions: handler); fix the handler's function name"),
    "no such module": (
        "    handler: app.handler\n", {},
        "5:14: resources.Worker.handler: handler app.handler: no module 'app' in "
        "lambda_code/shop_worker/ (looked for lambda_code/shop_worker/app.py)"),
    "default handler missing": (
        "", {"lambda_code/shop_worker/handler.py": "import json\nTABLE = 't'\n\n\n"
                                                   "def main(event, context):\n    pass\n"},
        "4:11: resources.Worker.code: handler handler.handler: lambda_code/shop_worker/"
        "handler.py defines no 'handler' (its functions: main)"),
    "module that does not parse": (
        "", {"lambda_code/shop_worker/handler.py": "def handler(event:\n"},
        "4:11: resources.Worker.code: handler handler.handler: lambda_code/shop_worker/"
        "handler.py:1:12: the handler's module is not valid Python"),
}


@pytest.mark.parametrize("case", HANDLERS, ids=str)
def test_a_handler_that_does_not_exist_is_located(case, mini, cli):
    lines, files, expected = HANDLERS[case]
    write_files(mini, {CODE: worker(lines), **files})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert f"error: {CODE}:{expected}" in run.err


def test_handlers_are_read_not_run(mini, cli):
    canary = mini / "CANARY"
    write_files(mini, {"lambda_code/shop_worker/handler.py":
                       f"open({str(canary)!r}, 'w').write('ran')\n"
                       "def handler(e, c):\n    pass\n"})
    assert cli(mini, "synth", "--no-lint").code == 0
    assert not canary.exists()


def test_a_route_to_something_that_is_not_a_function_is_located(mini, cli):
    write_files(mini, {"blueprints/shop/03-api.yaml": (
        "resources:\n  Api:\n    kind: http_api\n    routes:\n"
        "      GET /orders: !Output data.TableArn\n"
        "      POST /orders: !Output code.WorkerArn\n"
        "  Rest:\n    kind: rest_api\n    stage: v1\n    paths:\n"
        "      /orders: {POST: {function: !Output data.TableName}}\n"),
        CODE: worker("") + "outputs:\n  WorkerArn: !GetAtt Worker.Arn\n"})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert "error: blueprints/shop/03-api.yaml:5:20: resources.Api.routes.GET /orders: " \
           "!Output 'data.TableArn' is a table, not a function; give a function's ARN" \
           in run.err
    assert "error: blueprints/shop/03-api.yaml:11:34: resources.Rest.paths./orders.POST." \
           "function: !Output 'data.TableName' is a table, not a function" in run.err
    assert "2 problems found" in run.err
