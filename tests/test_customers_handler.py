"""The customers function on an in-process fake DynamoDB (moto)."""

from __future__ import annotations

import ast
import base64
import json

import boto3
import pytest
from moto import mock_aws

from .lambdas import LAMBDA_CODE, FakeContext, load_handler

CREATE = load_handler("customers_create")
TABLE = "DA_Serverless"


def rest_event(method: str = "POST", body=None, raw: str | None = None, b64=False) -> dict:
    """An API Gateway REST (v1) proxy event, as API Gateway sends it."""
    return {
        "resource": "/customers", "path": "/customers", "httpMethod": method,
        "headers": {"content-type": "application/json", "x-api-key": "redacted"},
        "requestContext": {"resourcePath": "/customers", "httpMethod": method,
                           "stage": "dev", "identity": {"apiKeyId": "abc123"}},
        "body": raw if raw is not None else (json.dumps(body) if body is not None else None),
        "isBase64Encoded": b64,
    }


@pytest.fixture
def dynamodb(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DB_NAME", TABLE)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        yield client


def post(client, **kwargs):
    response = CREATE.handler(rest_event(**kwargs), FakeContext(), client=client)
    return response["statusCode"], json.loads(response["body"])


def item(client, item_id):
    found = client.get_item(TableName=TABLE, Key={"id": {"S": item_id}})["Item"]
    return {k: v["S"] for k, v in found.items()}


def test_the_originals_first_example_request(dynamodb):
    status, body = post(dynamodb, raw='{ "firstname": "Your Name here"}')
    assert status == 201
    assert item(dynamodb, body["id"]) == {"id": body["id"], "firstname": "Your Name here"}


def test_the_originals_second_example_request_needs_a_real_email(dynamodb):
    """The original's example puts "Your Name here" in email too: the address is now
    validated as the raffle's is (trimmed, lower-cased), so that body is a 400."""
    example = ('{ "firstname": "Your Name here", "lastname": "Your Name here", '
               '"email": "%s"}')
    assert post(dynamodb, raw=example % "Your Name here") == \
        (400, {"error": "email is not a valid e-mail address"})
    status, body = post(dynamodb, raw=example % " Ann@Example.com ")
    assert status == 201
    assert item(dynamodb, body["id"]) == {"id": body["id"], "firstname": "Your Name here",
                                          "lastname": "Your Name here",
                                          "email": "ann@example.com"}


def test_only_declared_fields_are_stored(dynamodb):
    status, body = post(dynamodb, body={"firstname": "Ann", "admin": True, "id": "x"})
    assert status == 201 and body["id"] != "x"
    assert item(dynamodb, body["id"]) == {"id": body["id"], "firstname": "Ann"}


@pytest.mark.parametrize("kwargs, message", [
    ({"raw": "not json"}, "body is not valid JSON"),
    ({"raw": '"a string"'}, "body must be a JSON object"),
    ({"raw": ""}, "body must be a JSON object"),
    ({"body": {}}, "firstname is required"),
    ({"body": {"lastname": "Smith"}}, "firstname is required"),
    ({"body": {"firstname": 7}}, "firstname must be a non-empty string of at most 256 "
                                 "characters"),
    ({"body": {"firstname": "  "}}, "firstname must be a non-empty string of at most 256 "
                                    "characters"),
    ({"body": {"firstname": "A", "email": ["x"]}}, "email must be a non-empty string of "
                                                   "at most 256 characters"),
    ({"body": {"firstname": "A", "lastname": "x" * 257}}, "lastname must be a non-empty "
                                                          "string of at most 256 characters"),
    ({"raw": json.dumps({"firstname": "A", "pad": "x" * 9000})},
     "body is larger than 8192 bytes"),
    ({"raw": base64.b64encode(b"\xff").decode(), "b64": True}, "body is not valid UTF-8"),
])
def test_bad_bodies_are_400_naming_the_problem(dynamodb, kwargs, message):
    assert post(dynamodb, **kwargs) == (400, {"error": message})
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_405(dynamodb, method):
    assert post(dynamodb, method=method)[0] == 405


def test_ids_are_unique_over_1000_creates(dynamodb):
    ids = {post(dynamodb, body={"firstname": f"n{i}"})[1]["id"] for i in range(1000)}
    assert len(ids) == 1000
    assert dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"] == 1000


def test_existing_item_is_never_overwritten(dynamodb, monkeypatch):
    first = post(dynamodb, body={"firstname": "Ann"})[1]["id"]
    monkeypatch.setattr(CREATE.uuid, "uuid4", lambda: first)
    status, body = post(dynamodb, body={"firstname": "Bob"})
    assert status == 500 and "Conditional" not in json.dumps(body)
    assert item(dynamodb, first)["firstname"] == "Ann"


def test_table_name_comes_from_db_name_only(dynamodb, monkeypatch):
    monkeypatch.setenv("DB_NAME", "other-table")
    dynamodb.create_table(TableName="other-table", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    status, body = post(dynamodb, body={"firstname": "Ann"})
    assert status == 201
    assert dynamodb.scan(TableName="other-table")["Count"] == 1
    assert dynamodb.scan(TableName=TABLE)["Count"] == 0
    source = (LAMBDA_CODE / "customers_create/handler.py").read_text()
    literals = {n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant)}
    assert TABLE not in literals and "DB_NAME" in literals
