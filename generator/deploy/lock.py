"""The deploy lock: one deploy or clean per environment, account and region at a time.

Held in the cloud, so it works across laptops and CI runners: one item in the DynamoDB
table of the bootstrap stack (`blueprint-state`), written only if absent (a conditional
put, as Terraform's state lock does) and deleted only by the run holding it. A second
run waits up to `--lock-timeout` seconds (default 0: refuse at once) and says who holds
the lock. A lock whose holder died stays until someone breaks it with `unlock`: a lock
that expired on its own could let two runs in at once.

Every run has an id; its change sets carry it (`bp-r<run id>-…`), so a run deletes
leftover change sets only of its own or of runs that no longer hold the lock.
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

from botocore.exceptions import ClientError

from .bootstrap import STACK as BOOTSTRAP
from .bootstrap import STATE_TABLE as TABLE
from .cloud import Cloud, DeployError

POLL = 2.0


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: enough to find them, or to tell that they are gone."""

    run_id: str
    user: str
    host: str
    pid: int
    since: str
    command: str

    @classmethod
    def me(cls, run_id: str, command: str) -> Holder:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return cls(run_id, getpass.getuser(), socket.gethostname(), os.getpid(), now,
                   command)

    @property
    def text(self) -> str:
        return (f"{self.user} on {self.host} (pid {self.pid}, run {self.run_id}) since "
                f"{self.since}: {self.command}")

    @property
    def gone(self) -> bool:
        """True when the holder ran on this machine and its process no longer exists."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def lock_key(env: str, account: str, region: str) -> str:
    return f"{env}/{account}/{region}"


class DeployLock:
    """The lock of one environment, account and region."""

    def __init__(self, cloud: Cloud, region: str, key: str) -> None:
        self.cloud, self.region, self.key = cloud, region, key
        self.held: Holder | None = None

    @property
    def _id(self) -> dict:
        return {"id": {"S": f"lock/{self.key}"}}

    @property
    def _table(self):
        return self.cloud.client("dynamodb", self.region)

    def available(self) -> bool:
        """Whether the state table exists (a bootstrap stack older than the lock has none)."""
        try:
            self._table.describe_table(TableName=TABLE)
            return True
        except self._table.exceptions.ResourceNotFoundException:
            return False

    def holder(self) -> Holder | None:
        try:
            item = self._table.get_item(TableName=TABLE, Key=self._id,
                                        ConsistentRead=True).get("Item")
        except self._table.exceptions.ResourceNotFoundException:
            return None
        if not item:
            return None
        return Holder(item["run_id"]["S"], item["user"]["S"], item["host"]["S"],
                      int(item["pid"]["N"]), item["since"]["S"], item["command"]["S"])

    def acquire(self, me: Holder, timeout: float, say: Callable[[str], None]) -> None:
        """Take the lock, waiting up to `timeout` seconds while another run holds it."""
        deadline, told = self.cloud.clock() + timeout, None
        while not self._put(me):
            other = self.holder()
            if other is None:
                continue                  # released between our put and our read
            if self.cloud.clock() >= deadline or self.cloud.stopping.is_set():
                raise DeployError(self._busy(other, timeout))
            if other != told:
                say(f"waiting up to {timeout:.0f} s for the deploy lock of {self.key}, "
                    f"held by {other.text}")
                told = other
            self.cloud.sleep(POLL)
        self.held = me

    def _put(self, me: Holder) -> bool:
        item = {k: {"N": str(v)} if k == "pid" else {"S": str(v)}
                for k, v in asdict(me).items()}
        try:
            self._table.put_item(TableName=TABLE, Item={**self._id, **item},
                                 ConditionExpression="attribute_not_exists(id)")
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise

    def _busy(self, other: Holder, timeout: float) -> str:
        waited = f"after waiting {timeout:.0f} s " if timeout else ""
        hint = (" Its process is gone from this machine: break the lock with `python -m "
                f"generator unlock --env {self.key.split('/')[0]}`." if other.gone else
                " Wait for it (--lock-timeout SECONDS), or, if its holder died, break it "
                f"with `python -m generator unlock --env {self.key.split('/')[0]}`.")
        return (f"the deploy lock of {self.key} is held {waited}by {other.text}; nothing "
                f"was changed.{hint}")

    def release(self) -> None:
        """Give the lock back, only if this run still holds it."""
        if self.held is None:
            return
        try:
            self._table.delete_item(TableName=TABLE, Key=self._id,
                                    ConditionExpression="run_id = :me",
                                    ExpressionAttributeValues={":me": {"S": self.held.run_id}})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        self.held = None

    def break_lock(self) -> Holder | None:
        """Delete the lock whoever holds it (the `unlock` verb); return who held it."""
        other = self.holder()
        if other is not None:
            self._table.delete_item(TableName=TABLE, Key=self._id)
        return other


def run_of(change_set: str) -> str | None:
    """The run id a change set of ours carries (`bp-r<run id>-…`); None for older ones."""
    parts = change_set.split("-")
    return parts[1][1:] if len(parts) > 2 and parts[1].startswith("r") else None


def account_of(cloud: Cloud, region: str) -> str:
    """The account a lock belongs to ("local" for the local cloud)."""
    if cloud.target.local:
        return "local"
    return cloud.client("sts", region).get_caller_identity()["Account"]


@contextlib.contextmanager
def held_lock(cloud: Cloud, stacks: list, command: str, timeout: float,
              say: Callable[[str], None]):
    """The environment's lock around a clean (none before the bootstrap stack has its
    state table: no run has held a lock there yet)."""
    region = stacks[0].home_region
    lock = DeployLock(cloud, region, lock_key(stacks[0].env, account_of(cloud, region),
                                              region))
    if cloud.stack(BOOTSTRAP, region) is None or not lock.available():
        yield None
        return
    lock.acquire(Holder.me(new_run_id(), command), timeout, say)
    try:
        yield lock
    finally:
        lock.release()
