"""The deploy lock on botocore's Stubber: acquire, contention, waiting, a dead holder,
release and unlock, with DynamoDB's own answers."""

from __future__ import annotations

import dataclasses
import io

import pytest

from generator.deploy.cloud import DeployError
from generator.deploy.lock import DeployLock, Holder, run_of

from .test_deploy_stubbed import Scripted

KEY = "dev/123456789012/eu-west-1"
ME = Holder("aaaaaaaaaaaa", "ann", "laptop", 4242, "2026-11-24 22:00:00 UTC", "deploy")
OTHER = Holder("bbbbbbbbbbbb", "ci", "runner-7", 77, "2026-11-24 21:55:00 UTC",
               "python -m generator deploy --env dev --yes")


def item(holder: Holder) -> dict:
    return {"id": {"S": f"lock/{KEY}"}, "run_id": {"S": holder.run_id}, "user": {"S": holder.user},
            "host": {"S": holder.host}, "pid": {"N": str(holder.pid)},
            "since": {"S": holder.since}, "command": {"S": holder.command}}


def taken(script: Scripted) -> None:
    script.tables.add_client_error("put_item", "ConditionalCheckFailedException",
                                   "The conditional request failed")


def test_a_free_lock_is_taken_with_a_conditional_put():
    script = Scripted()
    script.tables.add_response("put_item", {}, {
        "TableName": "blueprint-state", "Item": item(ME),
        "ConditionExpression": "attribute_not_exists(id)"})
    lock = DeployLock(script.cloud, "eu-west-1", KEY)
    with script.tables:
        lock.acquire(ME, 0, print)
    assert lock.held == ME


def test_a_held_lock_refuses_at_once_naming_its_holder():
    script = Scripted()
    taken(script)
    script.tables.add_response("get_item", {"Item": item(OTHER)})
    with script.tables, pytest.raises(DeployError) as error:
        DeployLock(script.cloud, "eu-west-1", KEY).acquire(ME, 0, print)
    assert str(error.value).startswith(
        "the deploy lock of dev/123456789012/eu-west-1 is held by ci on runner-7 (pid 77, "
        "run bbbbbbbbbbbb) since 2026-11-24 21:55:00 UTC: python -m generator deploy --env "
        "dev --yes; nothing was changed. Wait for it (--lock-timeout SECONDS)")
    assert "python -m generator unlock --env dev" in str(error.value)
    assert script.cloud.state_calls == ["PutItem", "GetItem"] and script.cloud.writes == []


def test_with_a_timeout_it_waits_says_who_holds_it_then_takes_it():
    script = Scripted()
    taken(script)
    script.tables.add_response("get_item", {"Item": item(OTHER)})
    taken(script)
    script.tables.add_response("get_item", {"Item": item(OTHER)})
    script.tables.add_response("put_item", {})
    said, slept = [], []
    script.cloud.sleep = slept.append
    with script.tables:
        DeployLock(script.cloud, "eu-west-1", KEY).acquire(ME, 60, said.append)
    assert said == ["waiting up to 60 s for the deploy lock of dev/123456789012/eu-west-1, "
                    f"held by {OTHER.text}"]                 # said once, not per poll
    assert slept == [2.0, 2.0]


def test_a_holder_whose_process_is_gone_is_named_with_the_unlock_command(monkeypatch):
    import socket

    dead = dataclasses.replace(OTHER, host=socket.gethostname(), pid=2 ** 22 + 12345)
    assert dead.gone
    script = Scripted()
    taken(script)
    script.tables.add_response("get_item", {"Item": item(dead)})
    with script.tables, pytest.raises(DeployError, match="Its process is gone from this "
                                                         "machine: break the lock with "
                                                         "`python -m generator unlock "
                                                         "--env dev`"):
        DeployLock(script.cloud, "eu-west-1", KEY).acquire(ME, 0, print)


def test_release_deletes_only_our_own_lock_and_unlock_deletes_any():
    script = Scripted()
    lock = DeployLock(script.cloud, "eu-west-1", KEY)
    lock.held = ME
    script.tables.add_response("delete_item", {}, {
        "TableName": "blueprint-state", "Key": {"id": {"S": f"lock/{KEY}"}},
        "ConditionExpression": "run_id = :me",
        "ExpressionAttributeValues": {":me": {"S": ME.run_id}}})
    script.tables.add_response("get_item", {"Item": item(OTHER)})
    script.tables.add_response("delete_item", {}, {"TableName": "blueprint-state",
                                                   "Key": {"id": {"S": f"lock/{KEY}"}}})
    with script.tables:
        lock.release()
        assert lock.held is None
        assert lock.break_lock() == OTHER
    script.tables.assert_no_pending_responses()


def test_a_release_after_someone_broke_the_lock_is_quiet():
    script = Scripted()
    lock = DeployLock(script.cloud, "eu-west-1", KEY)
    lock.held = ME
    script.tables.add_client_error("delete_item", "ConditionalCheckFailedException", "no")
    with script.tables:
        lock.release()
    assert lock.held is None


def test_change_sets_carry_the_run_id():
    assert run_of("bp-raaaaaaaaaaaa-0123456789ab") == "aaaaaaaaaaaa"
    assert run_of("bp-raaaaaaaaaaaa-import") == "aaaaaaaaaaaa"
    assert run_of("bp-0123456789ab-1700000000") is None      # before run ids


def test_a_run_leaves_the_lock_holders_change_sets_alone():
    from generator.deploy.models import HASH_TAG
    from generator.deploy.runner import Console, Deployer, Options

    from .test_deploy_stubbed import NAME, SPEC, stack
    script = (Scripted()
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: "older"}))
              .ok("list_change_sets", {"Summaries": [
                  {"ChangeSetName": f"bp-r{OTHER.run_id}-0123456789ab",
                   "ExecutionStatus": "AVAILABLE", "Status": "CREATE_COMPLETE"},
                  {"ChangeSetName": "bp-rcccccccccccc-0123456789ab",
                   "ExecutionStatus": "AVAILABLE", "Status": "CREATE_COMPLETE"}]})
              .ok("delete_change_set")
              .ok("create_change_set", {"Id": "cs", "StackId": "id"})
              .ok("describe_change_set", {"Status": "FAILED", "ChangeSetName": "cs",
                                          "StatusReason": "No updates are to be performed."})
              .ok("delete_change_set")
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: "older"})))
    out = io.StringIO()
    deployer = Deployer("/x", script.cloud, Console(out), Options(yes=True))
    deployer.protected_runs = {OTHER.run_id}
    with script.stub, script.identity:
        outcome = deployer.run([SPEC])
    assert outcome.results == {NAME: "no changes"}
    assert "left by an earlier run: bp-rcccccccccccc-0123456789ab" in out.getvalue()
    assert OTHER.run_id not in out.getvalue()


def test_the_lock_of_an_environment_is_in_its_own_region_whatever_stages_are_deployed():
    from generator.deploy.manifest import load_stacks

    from .conftest import REPO

    site, = load_stacks(str(REPO), "dev", ["raffle"], ["site"])
    assert (site.region, site.home_region) == ("us-east-1", "eu-west-1")


def test_a_deploy_takes_the_lock_of_its_account_after_the_bootstrap_and_gives_it_back():
    from botocore.stub import ANY

    from generator.deploy.bootstrap import bootstrap_stack
    from generator.deploy.models import HASH_TAG
    from generator.deploy.plan import stack_hash
    from generator.deploy.runner import Console, Deployer, Options

    from .test_deploy_stubbed import NAME, SPEC, WANTED, stack

    boot = bootstrap_stack("eu-west-1")
    current = stack_hash(boot.template, {}, boot.tags)
    script = (Scripted()
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: current}))
              .ok("list_change_sets", {"Summaries": []})
              .ok("describe_stacks", stack("UPDATE_COMPLETE", {HASH_TAG: WANTED}))
              .ok("list_change_sets", {"Summaries": []}))
    lock_id = {"id": {"S": "lock/dev/123456789012/eu-west-1"}}
    script.tables.add_response("describe_table", {"Table": {"TableName": "blueprint-state"}})
    script.tables.add_response("put_item", {}, {
        "TableName": "blueprint-state", "Item": ANY,
        "ConditionExpression": "attribute_not_exists(id)"})
    script.tables.add_response("delete_item", {}, {
        "TableName": "blueprint-state", "Key": lock_id, "ConditionExpression": "run_id = :me",
        "ExpressionAttributeValues": ANY})
    deployer = Deployer("/x", script.cloud, Console(io.StringIO()),
                        Options(yes=True, lock=True))
    with script.stub, script.identity, script.tables:
        outcome = deployer.run([SPEC])
        script.tables.assert_no_pending_responses()
    assert outcome.results == {"blueprint-assets@eu-west-1": "unchanged", NAME: "unchanged"}
    assert script.cloud.state_calls == ["DescribeTable", "PutItem", "DeleteItem"]
    assert script.cloud.writes == []
    assert deployer.lock is not None and deployer.lock.held is None


def test_without_consent_for_the_bootstrap_nothing_else_starts_and_the_exit_code_is_3():
    from generator.deploy.runner import Console, Deployer, Options

    from .test_deploy_stubbed import NAME, SPEC, change_set

    script = Scripted().missing()                           # no bootstrap stack yet
    script.tables.add_client_error("describe_table", "ResourceNotFoundException", "none")
    (script.missing("list_change_sets")
     .ok("create_change_set", {"Id": "cs", "StackId": "id"})
     .ok("describe_change_set", change_set())
     .ok("delete_change_set")
     .ok("delete_stack"))
    script.tables.add_client_error("describe_table", "ResourceNotFoundException", "none")
    deployer = Deployer("/x", script.cloud, Console(io.StringIO()),
                        Options(interactive=False, lock=True))
    with script.stub, script.identity, script.tables:
        outcome = deployer.run([SPEC])
    assert outcome.results == {
        "blueprint-assets@eu-west-1": "not executed",
        NAME: "not started (blueprint-assets in eu-west-1, which holds the deploy lock, is "
              "not deployed)"}
    assert outcome.exit_code == 3 and "ExecuteChangeSet" not in script.cloud.writes
