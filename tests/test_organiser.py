"""The draw is the organiser's: the Lambda authorizer, the http_api `authorizer` option,
and the committed raffle templates (draw guarded, apply and count open, the token
generated at deploy time and never written anywhere here)."""

from __future__ import annotations

import hmac
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .lambdas import FakeContext, http_event, load_handler
from .templates import all_templates, resources

AUTHORIZE = load_handler("raffle_authorize")
TOKEN = "0rganiserT0kenWith40LettersAndDigitsOnly"
FUNCTIONS, API = "build/dev/raffle/02-functions.yaml", "build/dev/raffle/04-api.yaml"


class Secrets:
    """Stands in for Secrets Manager: counts reads."""

    def __init__(self, value: str = TOKEN) -> None:
        self.value, self.reads = value, 0

    def __call__(self, secret_id: str) -> str:
        assert secret_id == "raffle-organiser-token"
        self.reads += 1
        return self.value


@pytest.fixture(autouse=True)
def secret_env(monkeypatch):
    monkeypatch.setenv("ORGANISER_TOKEN_SECRET", "raffle-organiser-token")
    AUTHORIZE._cache.clear()


def decide(authorization, secrets=None, now: float = 0.0, headers=None) -> bool:
    event = http_event("POST", "/draw")
    event["headers"] = headers if headers is not None else (
        {} if authorization is None else {"authorization": authorization})
    answer = AUTHORIZE.handler(event, FakeContext(), read_secret=secrets or Secrets(),
                               clock=lambda: now)
    assert set(answer) == {"isAuthorized"}
    return answer["isAuthorized"]


def test_the_organisers_bearer_token_is_let_through():
    assert decide(f"Bearer {TOKEN}") is True
    assert decide(f"bearer   {TOKEN}  ") is True


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}",
    f"Bearer {TOKEN}x", f"Bearer {TOKEN.lower()}", f"Bearer {TOKEN} {TOKEN}",
    f"Bearer {TOKEN}\u00e9", "Bearer \ud800", f"Bearer\t{TOKEN}", "Bearer " + "x" * 100_000,
])
def test_anything_else_is_refused_without_an_error(authorization):
    assert decide(authorization) is False


@pytest.mark.parametrize("headers", [None, {"Authorization": 7}, {"authorization": None},
                                     {"authorization": ["Bearer", TOKEN]}])
def test_malformed_headers_are_refused_without_an_error(headers):
    event = http_event("POST", "/draw")
    event["headers"] = headers
    answer = AUTHORIZE.handler(event, FakeContext(), read_secret=Secrets(), clock=lambda: 0)
    assert answer == {"isAuthorized": False}


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])   # env set once
@given(st.one_of(st.none(), st.integers(), st.text(st.characters(exclude_categories=())),
                 st.builds("Bearer {}".format, st.text(st.characters(exclude_categories=())))))
def test_any_header_value_is_a_plain_answer_never_an_error(value):
    AUTHORIZE._cache.clear()
    event = http_event("POST", "/draw")
    event["headers"] = {"authorization": value}
    answer = AUTHORIZE.handler(event, FakeContext(), read_secret=Secrets(), clock=lambda: 0)
    assert answer == {"isAuthorized": value == f"Bearer {TOKEN}"}


def test_an_empty_secret_lets_no_one_in():
    assert decide("Bearer x", Secrets("")) is False
    assert decide("Bearer ", Secrets("")) is False


def test_the_comparison_takes_constant_time(monkeypatch):
    compared, original = [], hmac.compare_digest
    monkeypatch.setattr(AUTHORIZE.hmac, "compare_digest",
                        lambda a, b: compared.append((a, b)) or original(a, b))
    assert decide(f"Bearer {TOKEN}") is True
    assert compared == [(TOKEN.encode(), TOKEN.encode())]


def test_the_secret_is_read_at_most_once_a_minute():
    secrets = Secrets()
    for second in (0, 10, 59):
        decide(f"Bearer {TOKEN}", secrets, now=1000 + second)
    assert secrets.reads == 1
    secrets.value = "rotated"
    assert decide(f"Bearer {TOKEN}", secrets, now=1061) is False
    assert decide("Bearer rotated", secrets, now=1062) is True and secrets.reads == 2


def test_no_header_reads_no_secret():
    secrets = Secrets()
    assert decide(None, secrets) is False and secrets.reads == 0


def test_the_token_is_never_logged(capsys):
    decide(f"Bearer {TOKEN}")
    decide("Bearer wrong-guess")
    out = capsys.readouterr().out
    assert TOKEN not in out and "wrong-guess" not in out
    assert [json.loads(line)["authorized"] for line in out.splitlines()] == [True, False]


# The committed raffle templates.

def test_only_the_draw_route_is_guarded_by_the_authorizer():
    api = resources(API)
    routes = {r["Properties"]["RouteKey"]: r["Properties"]
              for r in resources(API, "AWS::ApiGatewayV2::Route").values()}
    assert routes["POST /draw"]["AuthorizationType"] == "CUSTOM"
    assert routes["POST /draw"]["AuthorizerId"] == {"Ref": "ApiAuthorizer"}
    for open_route in ("POST /apply", "GET /count"):
        assert "AuthorizationType" not in routes[open_route]
    authorizer = api["ApiAuthorizer"]["Properties"]
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["IdentitySource"] == ["$request.header.authorization"]
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["AuthorizerResultTtlInSeconds"] == 0
    assert authorizer["AuthorizerUri"]["Fn::Sub"][1] == {
        "Function": {"Ref": "FunctionsAuthorizeArn"}}
    permission = api["ApiAuthorizerPermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "FunctionsAuthorizeArn"}
    assert permission["SourceArn"]["Fn::Sub"].endswith(
        ":${Api}/authorizers/${ApiAuthorizer}")
    assert "authorization" in api["Api"]["Properties"]["CorsConfiguration"]["AllowHeaders"]


def test_the_authorizer_may_only_read_its_secret():
    functions = resources(FUNCTIONS)
    statements = functions["AuthorizeRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"]
    logs_and_traces = (["logs:CreateLogStream", "logs:PutLogEvents"],
                       ["xray:PutTelemetryRecords", "xray:PutTraceSegments"])
    secret = [s for s in statements if s["Action"] not in logs_and_traces]
    assert secret == [{"Action": ["secretsmanager:GetSecretValue"], "Effect": "Allow",
                       "Resource": [{"Ref": "OrganiserToken"}]}]
    assert functions["Authorize"]["Properties"]["Environment"]["Variables"] == {
        "ORGANISER_TOKEN_SECRET": {"Ref": "OrganiserToken"}}


def test_the_token_is_generated_at_deploy_time_and_written_nowhere():
    token = resources(FUNCTIONS)["OrganiserToken"]
    assert token["Type"] == "AWS::SecretsManager::Secret"
    assert token["DeletionPolicy"] == token["UpdateReplacePolicy"] == "Delete"
    assert set(token["Properties"]) == {"Description", "GenerateSecretString"}
    assert token["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    for path in all_templates():
        for body in resources(path).values():
            assert "SecretString" not in body.get("Properties", {}), path
