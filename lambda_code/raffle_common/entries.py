"""The entries store: gapless tickets kept with conditional transactions."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass

_shared: Store | None = None
COUNTER = "#counter"
TICKET = "ticket#"
WINNER = "#winner"
RETRIES = 40


class AlreadyEntered(Exception):
    pass


class NoEntries(Exception):
    pass


class Closed(Exception):
    """The winner is drawn: no more entries."""


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
                refusal = self._refusal(reasons, email)
                if refusal:
                    raise refusal from None
            time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise RuntimeError("too much contention on the counter; try again")

    def _refusal(self, reasons: list, email: str) -> Exception | None:
        """Why a transaction was cancelled, from its reasons (entry, ticket, counter,
        winner) or, without any, from the table; None for a lost race on the counter."""
        failed = [code == "ConditionalCheckFailed" for code in reasons]
        if failed[3:4] == [True] or (not reasons and self.winner()):
            return Closed()
        if failed[:1] == [True] or self._exists(email):
            return AlreadyEntered(email)
        return None

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
            # entries close when the winner is drawn: checked in the same transaction
            {"ConditionCheck": {"TableName": self.table, "Key": {"email": {"S": WINNER}},
                                "ConditionExpression": "attribute_not_exists(email)"}},
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


    def winner(self) -> tuple[str, int] | None:
        """The drawn winner and ticket, or None before the draw."""
        item = self.client.get_item(TableName=self.table, Key={"email": {"S": WINNER}},
                                    ConsistentRead=True).get("Item")
        return (item["winner"]["S"], int(item["ticket"]["N"])) if item else None

    def draw_once(self, choose) -> tuple[str, int]:
        """The raffle's one winner: the stored one, or a fresh draw stored with a
        conditional write, so concurrent first draws agree on whoever was stored first."""
        found = self.winner()
        if found:
            return found
        winner, ticket = self.draw(choose)
        try:
            self.client.put_item(
                TableName=self.table, ConditionExpression="attribute_not_exists(email)",
                Item={"email": {"S": WINNER}, "winner": {"S": winner},
                      "ticket": {"N": str(ticket)}, "drawn_at": {"N": str(int(time.time()))}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return self.winner()
        return winner, ticket


def shared_store() -> Store:
    """The store of this Lambda container, created on first use (kept warm)."""
    global _shared
    if _shared is None:
        _shared = Store.from_environment()
    return _shared
