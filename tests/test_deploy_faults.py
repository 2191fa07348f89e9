"""The fault matrix, on the local cloud: what a deploy does when things go wrong.

Each case is bounded (well under 30 s) and would fail if the behaviour it names broke:
data survives `clean` then `deploy`, interrupts never execute a change set that was
only shown, a stalled or dead endpoint ends the run fast with a clear message, and
exit codes say what happened.
"""

from __future__ import annotations

import pytest

from generator.deploy.clean import clean
from generator.deploy.cloud import Cloud, Target
from generator.deploy.manifest import load_stacks

from .localcloud import LocalCloud, deploy, project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    cloud = LocalCloud(tmp_path_factory.mktemp("ministack"))
    yield cloud
    cloud.stop()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return project(tmp_path_factory.mktemp("project"))


def _items(local, table: str, key: str) -> set[str]:
    return {i[key]["S"] for i in local.client("dynamodb").scan(TableName=table)["Items"]}


def test_clean_then_deploy_keeps_every_item_object_and_parameter(root, local):
    outcome, _, _ = deploy(root, local)
    assert not outcome.failures, outcome.failures
    dynamodb, s3 = local.client("dynamodb"), local.client("s3")
    dynamodb.put_item(TableName="dynamodb-table-lottery", Item={"email": {"S": "a@b.c"}})
    dynamodb.put_item(TableName="DA_Serverless", Item={"id": {"S": "c1"}})
    cloud = Cloud(Target.local_cloud(local.endpoint))
    kept = clean(cloud, load_stacks(str(root), "dev", None), lambda stack, message: None)
    assert {k.logical_id for k in kept} >= {"Entries", "Table"}

    outcome, text, _ = deploy(root, local)
    assert not outcome.failures, outcome.failures
    assert "[raffle-dev-table] adopt Entries (dynamodb-table-lottery): it exists and holds " \
           "data" in text
    assert outcome.results["raffle-dev-table"] == "created (adopted Entries)"
    assert outcome.results["customers-dev-data"] == "created (adopted Table)"
    assert _items(local, "dynamodb-table-lottery", "email") == {"a@b.c"}
    assert _items(local, "DA_Serverless", "id") == {"c1"}
    again, _, target = deploy(root, local)
    assert set(again.results.values()) == {"unchanged"} and target.writes == []
    del s3
