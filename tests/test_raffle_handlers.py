"""The raffle's Lambda handlers on an in-process fake DynamoDB (moto)."""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from .lambdas import FakeContext, http_event, load_handler

APPLY = load_handler("raffle_apply")
COUNT = load_handler("raffle_count")
DRAW = load_handler("raffle_draw")
Store = APPLY.Store
TABLE = "dynamodb-table-lottery"


class CountingClient:
    """Wraps a DynamoDB client: records every operation, and makes each request atomic.

    moto evaluates a transaction's conditions and writes without a lock, so two threads
    can both pass `entries = :current`; DynamoDB serializes each request. One lock per
    request gives the fake that guarantee while still interleaving requests, so the
    read-counter-then-transact retry loop really races.
    """

    def __init__(self, client) -> None:
        self._client, self.calls = client, []
        self.exceptions = client.exceptions
        self._lock = threading.Lock()

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if callable(attr):
            def call(*args, **kwargs):
                with self._lock:
                    self.calls.append(name)
                    return attr(*args, **kwargs)
            return call
        return attr


@pytest.fixture
def store(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "email", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "email",
                                                   "AttributeType": "S"}])
        yield Store(CountingClient(client), TABLE)


def call(module, store, event):
    response = module.handler(event, FakeContext(), store=store)
    return response["statusCode"], json.loads(response["body"])


def apply(store, body=None, **kwargs):
    return call(APPLY, store, http_event("POST", "/apply", body, **kwargs))


def test_apply_recorded_event_normalises_and_returns_ticket(store):
    from .lambdas import HTTP_EVENT

    status, body = call(APPLY, store, HTTP_EVENT)
    assert (status, body) == (201, {"email": "ann@example.com", "ticket": 1})
    assert apply(store, {"email": "bob@example.com", "name": " Bob "}) == \
        (201, {"email": "bob@example.com", "ticket": 2})
    item = store.client.get_item(TableName=TABLE, Key={"email": {"S": "bob@example.com"}})
    assert item["Item"]["name"] == {"S": "Bob"} and item["Item"]["ticket"] == {"N": "2"}


def test_apply_twice_is_409_and_stores_once(store):
    assert apply(store, {"email": "ann@example.com"})[0] == 201
    assert apply(store, {"email": " ANN@example.com"}) == \
        (409, {"error": "ann@example.com is already entered"})
    assert call(COUNT, store, http_event("GET", "/count")) == (200, {"count": 1})


@pytest.mark.parametrize("kwargs, message", [
    ({"raw": "not json"}, "body is not valid JSON"),
    ({"raw": "[1, 2]"}, "body must be a JSON object"),
    ({"raw": ""}, "body must be a JSON object"),
    ({"body": {}}, "email is required: a string such as ann@example.com"),
    ({"body": {"email": 42}}, "email is required: a string such as ann@example.com"),
    ({"body": {"email": "not-an-email"}}, "email is not a valid e-mail address"),
    ({"body": {"email": "a@b..com"}}, "email is not a valid e-mail address"),
    ({"body": {"email": "a" * 250 + "@x.io"}}, "email is longer than 254 characters"),
    ({"body": {"email": "a@example.com", "name": 7}},
     "name must be a string of at most 100 characters"),
    ({"raw": json.dumps({"email": "a@example.com", "pad": "x" * 5000})},
     "body is larger than 4096 bytes"),
    ({"raw": base64.b64encode(b"\xff\xfe").decode(), "base64": True},
     "body is not valid UTF-8"),
])
def test_apply_bad_input_is_400_with_a_message(store, kwargs, message):
    assert apply(store, **kwargs) == (400, {"error": message})
    assert "transact_write_items" not in store.client.calls


def test_base64_body_is_accepted(store):
    raw = base64.b64encode(json.dumps({"email": "b64@example.com"}).encode()).decode()
    assert apply(store, raw=raw, base64=True) == (201, {"email": "b64@example.com",
                                                        "ticket": 1})


@pytest.mark.parametrize("module, method, route", [
    (APPLY, "GET", "/apply"), (APPLY, "DELETE", "/apply"), (COUNT, "POST", "/count"),
    (DRAW, "GET", "/draw")])
def test_other_methods_are_405(store, module, method, route):
    response = module.handler(http_event(method, route), FakeContext(), store=store)
    assert response["statusCode"] == 405
    assert "error" in json.loads(response["body"]) and "allow" in response["headers"]


def test_fifty_concurrent_duplicate_applies_store_one_entry(store):
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(lambda _: apply(store, {"email": "same@example.com"}),
                                range(50)))
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: 49}
    assert call(COUNT, store, http_event("GET", "/count")) == (200, {"count": 1})


def test_concurrent_different_applies_get_gapless_unique_tickets(store):
    emails = [f"user{i}@example.com" for i in range(30)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda e: apply(store, {"email": e}), emails))
    assert sorted(body["ticket"] for _, body in results) == list(range(1, 31))
    assert call(COUNT, store, http_event("GET", "/count")) == (200, {"count": 30})


def _fill(store, count: int) -> None:
    """Write `count` entries in the layout `Store.enter` produces, in batches (fast)."""
    items = [{"email": {"S": "#counter"}, "entries": {"N": str(count)}}]
    for i in range(count):
        items.append({"email": {"S": f"user{i}@example.com"}, "ticket": {"N": str(i + 1)}})
        items.append({"email": {"S": f"ticket#{i + 1}"}, "owner": {"S": f"user{i}@example.com"}})
    for start in range(0, len(items), 25):
        store.client.batch_write_item(RequestItems={TABLE: [
            {"PutRequest": {"Item": item}} for item in items[start:start + 25]]})


def test_fill_matches_what_apply_writes(store):
    store.enter("user0@example.com", None)
    written = store.client.scan(TableName=TABLE)["Items"]
    store.client.delete_table(TableName=TABLE)
    store.client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "email", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "email",
                                                     "AttributeType": "S"}])
    _fill(store, 1)
    filled = store.client.scan(TableName=TABLE)["Items"]
    def strip(items):
        return sorted(({k: v for k, v in i.items() if k != "entered_at"} for i in items),
                      key=lambda i: i["email"]["S"])
    assert strip(written) == strip(filled)


def test_count_and_draw_read_constant_items_over_1000_entries(store):
    _fill(store, 1000)
    store.client.calls.clear()
    assert call(COUNT, store, http_event("GET", "/count")) == (200, {"count": 1000})
    assert store.client.calls == ["get_item"]
    store.client.calls.clear()
    status, body = call(DRAW, store, http_event("POST", "/draw"))
    assert status == 200 and body["winner"] == f"user{body['ticket'] - 1}@example.com"
    # no winner yet, the counter, the drawn ticket; then the winner, stored once
    assert store.client.calls == ["get_item", "get_item", "get_item", "put_item"]
    store.client.calls.clear()
    assert call(DRAW, store, http_event("POST", "/draw")) == (status, body)
    assert store.client.calls == ["get_item"]


def test_the_draw_happens_once_and_discloses_only_the_winner(store):
    _fill(store, 10)
    answers = [call(DRAW, store, http_event("POST", "/draw")) for _ in range(30)]
    assert len({json.dumps(a, sort_keys=True) for a in answers}) == 1
    status, body = answers[0]
    assert status == 200 and set(body) == {"winner", "ticket"}
    item = store.client.get_item(TableName=TABLE, Key={"email": {"S": "#winner"}})["Item"]
    assert item["winner"] == {"S": body["winner"]}
    assert item["ticket"] == {"N": str(body["ticket"])}


def test_concurrent_first_draws_agree_on_one_stored_winner(store):
    _fill(store, 100)
    tickets = iter(range(100))          # every draw would pick another ticket
    everyone_saw_no_winner = threading.Barrier(20, timeout=30)
    lock = threading.Lock()

    def choose(n):
        everyone_saw_no_winner.wait()
        with lock:
            return next(tickets)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: DRAW.draw(store, choose), range(20)))
    assert len({json.dumps(a, sort_keys=True) for a in answers}) == 1
    assert store.client.calls.count("put_item") == 20     # 1 stored, 19 refused


def test_a_lost_race_returns_the_stored_winner(store):
    """Another draw stores its winner between this one's read and its write."""
    _fill(store, 2)
    store.client.put_item(TableName=TABLE, Item={
        "email": {"S": "#winner"}, "winner": {"S": "user0@example.com"}, "ticket": {"N": "1"}})

    class StaleFirstRead:
        def __init__(self, client):
            self.client, self.exceptions, self.stale = client, client.exceptions, True

        def get_item(self, **kwargs):
            if kwargs["Key"]["email"]["S"] == "#winner" and self.stale:
                self.stale = False
                return {}
            return self.client.get_item(**kwargs)

        def put_item(self, **kwargs):
            return self.client.put_item(**kwargs)

    stale = Store(StaleFirstRead(store.client), TABLE)
    assert stale.draw_once(lambda n: 1) == ("user0@example.com", 1)


def test_entries_close_when_the_winner_is_drawn(store):
    assert apply(store, {"email": "ann@example.com"})[0] == 201
    assert call(DRAW, store, http_event("POST", "/draw"))[0] == 200
    assert apply(store, {"email": "bob@example.com"}) == \
        (409, {"error": "the winner is drawn; entries are closed"})
    assert call(COUNT, store, http_event("GET", "/count")) == (200, {"count": 1})
    assert "Item" not in store.client.get_item(TableName=TABLE,
                                               Key={"email": {"S": "bob@example.com"}})


def test_draw_with_no_entries_is_409(store):
    assert call(DRAW, store, http_event("POST", "/draw")) == \
        (409, {"error": "nobody has entered yet; there is no one to draw"})


def test_draw_is_uniform(store):
    """The choice the first draw makes (Store.draw; the winner is then stored once).
    Chi-square over 10 entries and 3,000 draws with a seeded chooser: a fixed,
    repeatable sample, so this cannot flake; the bound is the 99.9% quantile (df=9)."""
    import random

    _fill(store, 10)
    rng = random.Random(20261124)
    wins = Counter(store.draw(rng.randrange)[0] for _ in range(3000))
    expected = 3000 / 10
    chi_square = sum((wins[f"user{i}@example.com"] - expected) ** 2 / expected
                     for i in range(10))
    assert len(wins) == 10 and chi_square < 27.88


def test_draw_uses_secrets_by_default():
    import inspect
    import secrets

    assert inspect.signature(DRAW.draw).parameters["choose"].default is secrets.randbelow


def test_unexpected_failure_is_a_json_500_without_trace(store):
    class Broken:
        def count(self):
            raise RuntimeError("boom: internal detail")

    response = COUNT.handler(http_event("GET", "/count"), FakeContext(), store=Broken())
    assert response["statusCode"] == 500
    assert "boom" not in response["body"] and "Traceback" not in response["body"]


def test_a_cancelled_entry_without_reasons_is_judged_from_the_table(store):
    """DynamoDB may cancel a transaction without saying which condition failed."""
    assert apply(store, {"email": "ann@example.com"})[0] == 201

    class NoReasons:
        def __init__(self, client):
            self.client, self.exceptions = client, client.exceptions

        def __getattr__(self, name):
            return getattr(self.client, name)

        def transact_write_items(self, **kwargs):
            raise self.exceptions.TransactionCanceledException(
                {"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems")

    blind = Store(NoReasons(store.client), TABLE)
    assert apply(blind, {"email": "ann@example.com"}) == \
        (409, {"error": "ann@example.com is already entered"})
    assert call(DRAW, store, http_event("POST", "/draw"))[0] == 200
    assert apply(blind, {"email": "bob@example.com"}) == \
        (409, {"error": "the winner is drawn; entries are closed"})
