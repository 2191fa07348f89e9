"""The entries store: gapless tickets kept with conditional transactions."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass

_shared: Store | None = None
COUNTER = "#counter"
TICKET = "ticket#"
RETRIES = 40


class AlreadyEntered(Exception):
    pass


class NoEntries(Exception):
    pass


@dataclass(frozen=True)
class Store:
    """DynamoDB access for the raffle: a low-level client and the table name."""

    client: object
    table: str

    @classmethod
    def from_environment(cls) -> Store:
        import boto3

        return cls(boto3.client("dynamodb"), os.environ["TABLE_NAME"])

    def count(self) -> int:
        item = self.client.get_item(TableName=self.table, Key={"email": {"S": COUNTER}},
                                    ConsistentRead=True).get("Item")
        return int(item["entries"]["N"]) if item else 0

    def enter(self, email: str, name: str | None) -> int:
        """Store the entry once and return its ticket; AlreadyEntered if it exists."""
        for attempt in range(RETRIES):
            current = self.count()
            try:
                self._write(email, name, current)
                return current + 1
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    raise AlreadyEntered(email) from None
                if self._exists(email):
                    raise AlreadyEntered(email) from None
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise RuntimeError("too much contention on the counter; try again")

    def _write(self, email: str, name: str | None, current: int) -> None:
        ticket = current + 1
        entry = {"email": {"S": email}, "ticket": {"N": str(ticket)},
                 "entered_at": {"N": str(int(time.time()))}}
        if name:
            entry["name"] = {"S": name}
        counter_condition = ("attribute_not_exists(email)" if current == 0
                             else "entries = :current")
        counter_update = {"TableName": self.table, "Key": {"email": {"S": COUNTER}},
                          "UpdateExpression": "SET entries = :next",
                          "ConditionExpression": counter_condition,
                          "ExpressionAttributeValues": {":next": {"N": str(ticket)}}}
        if current:
            counter_update["ExpressionAttributeValues"][":current"] = {"N": str(current)}
        self.client.transact_write_items(TransactItems=[
            {"Put": {"TableName": self.table, "Item": entry,
                     "ConditionExpression": "attribute_not_exists(email)"}},
            {"Put": {"TableName": self.table,
                     "Item": {"email": {"S": f"{TICKET}{ticket}"}, "owner": {"S": email}},
                     "ConditionExpression": "attribute_not_exists(email)"}},
            {"Update": counter_update},
        ])

    def _exists(self, email: str) -> bool:
        return "Item" in self.client.get_item(TableName=self.table,
                                              Key={"email": {"S": email}},
                                              ConsistentRead=True)

    def owner_of(self, ticket: int) -> str:
        item = self.client.get_item(TableName=self.table,
                                    Key={"email": {"S": f"{TICKET}{ticket}"}},
                                    ConsistentRead=True)["Item"]
        return item["owner"]["S"]

    def draw(self, choose) -> tuple[str, int]:
        """A winner chosen by `choose(n)` → 0..n-1 among the n tickets."""
        total = self.count()
        if total == 0:
            raise NoEntries()
        ticket = choose(total) + 1
        return self.owner_of(ticket), ticket


def shared_store() -> Store:
    """The store of this Lambda container, created on first use (kept warm)."""
    global _shared
    if _shared is None:
        _shared = Store.from_environment()
    return _shared
