"""The orders handlers, in process with fakes (no AWS): what each does with good and
bad input."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from .conftest import REPO


def _handler(folder: str):
    sys.path.insert(0, str(REPO / "lambda_code"))      # api_input, as packaged
    spec = importlib.util.spec_from_file_location(
        f"{folder}_handler", REPO / "lambda_code" / folder / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeSqs:
    def __init__(self):
        self.sent = []

    def send_message(self, **call):
        self.sent.append(call)


class FakeTable:
    def __init__(self):
        self.items = []

    def put_item(self, TableName, Item):
        self.items.append(Item)

    def scan(self, TableName, Select):
        return {"Count": 3}


def test_place_queues_a_checked_order(monkeypatch):
    monkeypatch.setenv("INTAKE_QUEUE_URL", "https://queue")
    place, sqs = _handler("orders_place"), FakeSqs()
    answer = place.handler({"body": json.dumps({"item": "teapot", "quantity": 2})}, None, sqs)
    assert answer["statusCode"] == 202
    sent = json.loads(sqs.sent[0]["MessageBody"])
    assert sent == {"id": json.loads(answer["body"])["id"], "item": "teapot", "quantity": 2}


@pytest.mark.parametrize("body", [{"item": ""}, {"item": "x", "quantity": 0},
                                  {"item": "x", "quantity": True}, {"quantity": 1}])
def test_place_refuses_what_is_not_an_order(body):
    sqs = FakeSqs()
    assert _handler("orders_place").handler({"body": json.dumps(body)}, None, sqs)[
        "statusCode"] == 400
    assert sqs.sent == []


def test_the_worker_fails_only_the_messages_that_are_not_orders(monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "orders")
    table = FakeTable()
    good = json.dumps({"id": "1", "item": "teapot", "quantity": 2})
    answer = _handler("orders_worker").handler({"Records": [
        {"messageId": "a", "body": good}, {"messageId": "b", "body": "not an order"},
        {"messageId": "c", "body": "[]"}]}, None, table)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}
    assert table.items == [{"id": {"S": "1"}, "item": {"S": "teapot"},
                            "quantity": {"N": "2"}, "status": {"S": "placed"}}]


def test_fulfil_marks_the_order_and_refuses_garbage():
    fulfil = _handler("orders_fulfil")
    assert fulfil.handler({"id": "1"}, None) == {"id": "1", "status": "fulfilled"}
    with pytest.raises(ValueError):
        fulfil.handler({}, None)


def test_notify_reads_only_inserted_orders_and_signs_with_the_key():
    notify = _handler("orders_notify")
    image = {"id": {"S": "1"}, "item": {"S": "teapot"}, "quantity": {"N": "2"}}
    event = {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": image}},
                         {"eventName": "MODIFY", "dynamodb": {"NewImage": image}}]}
    assert notify.new_orders(event) == [{"id": "1", "item": "teapot", "quantity": 2}]
    assert notify.signature("k", "m") != notify.signature("other", "m")


def test_the_hourly_report_counts(monkeypatch):
    monkeypatch.setenv("TABLE_NAME", "orders")
    assert _handler("orders_report").handler({}, None, FakeTable()) == {"orders": 3}
