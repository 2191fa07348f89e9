"""The fault matrix, on the local cloud: what a deploy does when things go wrong.

Each case is bounded (well under 30 s) and would fail if the behaviour it names broke:
data survives `clean` then `deploy`, interrupts never execute a change set that was
only shown, a stalled or dead endpoint ends the run fast with a clear message, and
exit codes say what happened.
"""

from __future__ import annotations

import io
import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from generator.build import synth
from generator.deploy.afterdeploy import run_steps
from generator.deploy.clean import clean
from generator.deploy.cloud import Cloud, Target
from generator.deploy.manifest import load_stacks
from generator.deploy.runner import Console, Deployer, Options

from .conftest import write_files
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
    dynamodb = local.client("dynamodb")
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


def _changed(root, text: str) -> None:
    """Edit the count function and synth, so raffle-dev-functions has a change set."""
    handler = root / "lambda_code/raffle_count/handler.py"
    handler.write_text(handler.read_text() + f"\n# {text}\n")
    synth(str(root), cache_path=None, run_lint=False)


def test_ctrl_c_right_after_a_change_set_is_shown_executes_nothing(root, local):
    _changed(root, "interrupted")

    def ctrl_c_then_yes(question: str) -> str:
        # Ctrl-C while the question is shown (SIGINT to the main thread, as a terminal
        # does), then a "y" typed anyway
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        time.sleep(0.3)
        return "y"

    out = io.StringIO()
    cloud = Cloud(Target.local_cloud(local.endpoint))
    deployer = Deployer(str(root), cloud, Console(out, ask=ctrl_c_then_yes),
                        Options(interactive=True), run_steps)
    before = cloud.stack("raffle-dev-functions", "eu-west-1").deployed_hash
    outcome = deployer.run(load_stacks(str(root), "dev", ["raffle"]))
    assert outcome.interrupted and outcome.exit_code == 130
    assert "ExecuteChangeSet" not in cloud.writes
    assert "change set (update)" in out.getvalue()
    assert outcome.state_of("raffle-dev-functions").startswith("change set bp-")
    assert cloud.stack("raffle-dev-functions", "eu-west-1").deployed_hash == before
    again, _, _ = deploy(root, local, apps=["raffle"])
    assert again.results["raffle-dev-functions"] == "updated"


def test_not_executed_for_lack_of_consent_exits_3(root, local, cli):
    _changed(root, "no consent")
    run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle")
    assert run.code == 3, run.out + run.err
    assert "raffle-dev-functions" in run.out and "not executed" in run.out
    run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle", "--yes")
    assert run.code == 0, run.err


def _deploy_command(root, local) -> list[str]:
    return [sys.executable, "-m", "generator", "--root", str(root), "deploy", "--endpoint",
            local.endpoint, "--yes"]


@pytest.mark.parametrize("stop,presses", [(signal.SIGINT, 1), (signal.SIGINT, 2),
                                           (signal.SIGTERM, 1)])
def test_ctrl_c_with_the_local_cloud_stalled_exits_within_2_s(root, local, cli, stop,
                                                              presses):
    _changed(root, f"stalled {stop} {presses}")
    process = subprocess.Popen(_deploy_command(root, local), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert _until(process, "[raffle-dev-table]")   # past the lock, stacks under way
        os.kill(local.pid, signal.SIGSTOP)             # the cloud stalls mid-run
        time.sleep(1.0)
        started = time.monotonic()
        for _ in range(presses):
            process.send_signal(stop)
            time.sleep(0.1)
        _, err = process.communicate(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        os.kill(local.pid, signal.SIGCONT)
    cli(root, "unlock", "--endpoint", local.endpoint, "--yes")   # if its release failed
    assert process.returncode == 130, err
    assert elapsed < (2.0 if presses == 1 else 0.5), f"took {elapsed:.1f} s to exit"
    if presses == 1:          # the second press skips the moment given to running stacks
        assert "not started" in err or "was being looked at; nothing changed" in err
        assert f"resume with: python -m generator deploy --env dev --endpoint " \
               f"{local.endpoint} --yes" in err
    print(f"exit {elapsed:.2f} s after SIGINT x{presses}")


def _until(process: subprocess.Popen, marker: str, limit: float = 20) -> bool:
    """Read the process's output until a line holds `marker`; False if it never does."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if not line:
                return False
            if marker in line:
                return True
    return False


@pytest.mark.parametrize("marker", ["adopt Entries", "change set (create)",
                                    "create complete in", "uploaded build/ca/RootCA.pem"])
def test_kill_9_at_any_point_then_a_rerun_converges(root, local, cli, marker):
    cloud = Cloud(Target.local_cloud(local.endpoint))
    clean(cloud, load_stacks(str(root), "dev", None), lambda stack, message: None)
    process = subprocess.Popen(_deploy_command(root, local), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        assert _until(process, marker), f"never saw {marker!r}"
    finally:
        process.kill()
        process.wait(timeout=10)
    unlock = cli(root, "unlock", "--endpoint", local.endpoint, "--yes")   # its lock stays
    assert unlock.code == 0 and "its process is gone from this machine" in unlock.out
    outcome, _, _ = deploy(root, local)
    assert not outcome.failures, outcome.failures
    again, _, target = deploy(root, local)
    assert set(again.results.values()) == {"unchanged"} and target.writes == []
    assert _items(local, "dynamodb-table-lottery", "email") == {"a@b.c"}


def test_plan_detailed_exitcode_says_whether_anything_would_change(root, local, cli):
    deploy(root, local, apps=["raffle"])
    run = cli(root, "plan", "--endpoint", local.endpoint, "--app", "raffle",
              "--detailed-exitcode")
    assert run.code == 0, run.out + run.err
    _changed(root, "planned")
    run = cli(root, "plan", "--endpoint", local.endpoint, "--app", "raffle",
              "--detailed-exitcode")
    assert run.code == 4, run.out + run.err
    assert cli(root, "plan", "--endpoint", local.endpoint, "--app", "raffle").code == 0
    assert cli(root, "plan", "--endpoint", local.endpoint, "--app", "nope").code == 2


def test_a_blueprint_edited_without_synth_is_refused(root, local, cli):
    deploy(root, local, apps=["raffle"])
    stage = root / "blueprints/raffle/01-table.yaml"
    original = stage.read_text()
    stage.write_text(original.replace("one item per e-mail address", "one per address"))
    try:
        for verb in ("deploy", "plan"):
            run = cli(root, verb, "--endpoint", local.endpoint, "--app", "raffle", "--yes"
                      if verb == "deploy" else "--detailed-exitcode")
            assert run.code == 1, run.out + run.err
            assert "of raffle changed since the last synth" in run.err
            assert "run `make synth`" in run.err
        status = cli(root, "status", "--endpoint", local.endpoint, "--app", "raffle")
        assert "raffle: stale build" in status.out
    finally:
        stage.write_text(original)
    assert cli(root, "plan", "--endpoint", local.endpoint, "--app", "raffle").code == 0


@pytest.mark.parametrize("verb", ["deploy", "plan", "status", "outputs", "clean"])
def test_a_dead_endpoint_is_named_within_5_s(root, cli, verb):
    from generator.deploy import localcloud

    endpoint = localcloud.endpoint(localcloud.free_port())      # nothing listens there
    started = time.monotonic()
    run = cli(root, verb, "--endpoint", endpoint, "--yes" if verb in ("deploy", "clean")
              else "--app=raffle")
    assert time.monotonic() - started < 5
    assert run.code == 1
    assert f"the local cloud at {endpoint} does not answer (connection refused):" in run.err
    assert "start it with `make local`" in run.err and "internal error" not in run.err


def test_a_stalled_local_cloud_is_named_within_5_s(root, local, cli):
    os.kill(local.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        run = cli(root, "status", "--endpoint", local.endpoint)
        elapsed = time.monotonic() - started
    finally:
        os.kill(local.pid, signal.SIGCONT)
    assert run.code == 1 and elapsed < 5
    assert f"the local cloud at {local.endpoint} does not answer (no answer within 2 s)" \
        in run.err


def test_a_second_run_refuses_or_waits_and_deletes_no_change_set_of_the_first(root, local,
                                                                              cli):
    from generator.deploy.lock import DeployLock, Holder, lock_key

    deploy(root, local, apps=["raffle"])
    _changed(root, "locked")
    cloud = Cloud(Target.local_cloud(local.endpoint))
    spec = next(s for s in load_stacks(str(root), "dev", ["raffle"]) if s.stage == "functions")
    first = Holder.me("f1f1f1f1f1f1", "deploy (the first run)")
    lock = DeployLock(cloud, "eu-west-1", lock_key("dev", "local", "eu-west-1"))
    lock.acquire(first, 0, print)            # the first run holds the lock, and its
    shown = "bp-rf1f1f1f1f1f1-0123456789ab"  # change set is shown, awaiting a yes
    cfn = local.client("cloudformation")
    cfn.create_change_set(StackName=spec.name, ChangeSetName=shown, ChangeSetType="UPDATE",
                          UsePreviousTemplate=True, Parameters=[
                              {"ParameterKey": k, "UsePreviousValue": True}
                              for k in spec.parameters],
                          Capabilities=["CAPABILITY_IAM"])
    try:
        started = time.monotonic()
        second = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle", "--yes")
        assert second.code == 1 and time.monotonic() - started < 5
        assert "the deploy lock of dev/local/eu-west-1 is held by" in second.err
        assert "run f1f1f1f1f1f1" in second.err and "deploy (the first run)" in second.err
        waited = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle", "--yes",
                     "--lock-timeout", "1")
        assert waited.code == 1 and "after waiting 1 s" in waited.err
        assert "waiting up to 1 s for the deploy lock" in waited.out
        plan = cli(root, "plan", "--endpoint", local.endpoint, "--app", "raffle")
        assert plan.code == 0, plan.err
        status = cli(root, "status", "--endpoint", local.endpoint, "--app", "raffle")
        assert "deploy lock of dev/local/eu-west-1 held by" in status.out
        assert "run f1f1f1f1f1f1" in status.out
        names = [s["ChangeSetName"] for s in
                 cfn.list_change_sets(StackName=spec.name)["Summaries"]]
        assert shown in names                 # the plan left the first run's alone
    finally:
        lock.release()
    run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle", "--yes")
    assert run.code == 0, run.err
    assert f"deleting a change set left by an earlier run: {shown}" in run.out


def _physical(local, stack: str, logical: str) -> str:
    resources = local.client("cloudformation").list_stack_resources(StackName=stack)
    return next(r["PhysicalResourceId"] for r in resources["StackResourceSummaries"]
                if r["LogicalResourceId"] == logical)


def test_make_clean_then_make_deploy_keeps_unnamed_buckets_and_keys_too(root, local, cli):
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--yes").code == 0
    bucket = _physical(local, "raffle-dev-truststore", "Truststore")
    key = _physical(local, "customers-dev-key", "Key")
    local.client("s3").put_object(Bucket=bucket, Key="extra.pem", Body=b"kept")
    local.client("dynamodb").put_item(TableName="DA_Serverless", Item={"id": {"S": "c9"}})
    run = cli(root, "clean", "--endpoint", local.endpoint, "--yes")
    assert run.code == 0, run.err
    assert f"raffle-dev-truststore Truststore {bucket}" in run.out
    assert "customers-dev-api after_deploy.store_api_key /customers/dev/api-key" in run.out
    assert "aws ssm delete-parameter --name /customers/dev/api-key" in run.out
    assert "[customers-dev-key] the alias alias/customers-dev goes with the stack; its key " \
           "is kept" in run.out

    run = cli(root, "deploy", "--endpoint", local.endpoint, "--yes")
    assert run.code == 0, run.err
    assert f"adopt Truststore ({bucket}): it exists and holds data" in run.out
    assert f"adopt Key ({key}): it exists and holds data" in run.out
    assert _physical(local, "raffle-dev-truststore", "Truststore") == bucket
    assert _physical(local, "customers-dev-key", "Key") == key
    objects = local.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
    assert {"extra.pem", "RootCA.pem"} <= {o["Key"] for o in objects}
    assert "c9" in _items(local, "DA_Serverless", "id")
    noop = cli(root, "deploy", "--endpoint", local.endpoint, "--yes")
    assert noop.code == 0 and "deploy (dev): 0 write call(s)" in noop.out


def test_clean_purge_after_a_plain_clean_finds_what_was_left(root, local, cli):
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0
    bucket = _physical(local, "raffle-dev-truststore", "Truststore")
    assert cli(root, "clean", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0
    run = cli(root, "clean", "--endpoint", local.endpoint, "--app", "raffle", "--purge",
              "--yes")
    assert run.code == 0, run.err
    assert "no stack of dev is deployed" in run.out
    assert f"purged Truststore ({bucket})" in run.out
    assert "dynamodb-table-lottery" not in local.client("dynamodb").list_tables()[
        "TableNames"]
    again = cli(root, "clean", "--endpoint", local.endpoint, "--app", "raffle", "--purge",
                "--yes")
    assert again.code == 0 and "purged" not in again.out        # the record is gone


def test_status_says_what_a_half_done_create_is_and_the_next_run_tidies_it(root, local,
                                                                           cli):
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0
    # a new stage holding no data: a plain create (stacks holding retained log groups or
    # buckets are adopted after a clean, through an import change set)
    extra = root / "blueprints/raffle/06-extra.yaml"
    extra.write_text("resources:\n  Extra:\n    kind: role\n"
                     "    service: lambda.amazonaws.com\n")
    synth(str(root), cache_path=None, run_lint=False)
    process = subprocess.Popen(_deploy_command(root, local) + ["--app", "raffle"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert _until(process, "change set (create)")
    finally:
        process.kill()
        process.wait(timeout=10)
    status = cli(root, "status", "--endpoint", local.endpoint, "--app", "raffle")
    half = [line for line in status.out.splitlines() if "REVIEW_IN_PROGRESS" in line]
    assert half and all(line.endswith("not deployed: a create was prepared but never "
                                      "executed; the next deploy creates it again")
                        for line in half), status.out
    assert "leftover change set(s) (the next deploy deletes them): bp-r" in status.out
    assert cli(root, "unlock", "--endpoint", local.endpoint, "--yes").code == 0
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0
    status = cli(root, "status", "--endpoint", local.endpoint, "--app", "raffle")
    assert "leftover" not in status.out and "REVIEW_IN_PROGRESS" not in status.out
    extra.unlink()
    synth(str(root), cache_path=None, run_lint=False)
    local.client("cloudformation").delete_stack(StackName="raffle-dev-extra")


def test_leftover_change_sets_go_even_when_the_stack_is_unchanged(root, local, cli):
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0
    cfn = local.client("cloudformation")
    spec = next(s for s in load_stacks(str(root), "dev", ["raffle"]) if s.stage == "table")
    cfn.create_change_set(StackName=spec.name, ChangeSetName="bp-rdead00000000-0123456789ab",
                          ChangeSetType="UPDATE", UsePreviousTemplate=True)
    run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle", "--yes")
    assert run.code == 0
    assert "[raffle-dev-table] deleting a change set left by an earlier run: " \
           "bp-rdead00000000-0123456789ab" in run.out
    assert "[raffle-dev-table] unchanged" in run.out


def test_the_local_cloud_keeps_its_data_across_a_restart_unless_reset(root, cli):
    from generator.deploy import localcloud

    port = localcloud.free_port()
    endpoint = localcloud.endpoint(port)
    assert cli(root, "local", "up", "--port", str(port), "--fresh").code == 0
    try:
        assert cli(root, "deploy", "--endpoint", endpoint, "--app", "raffle",
                   "--yes").code == 0
        target = Cloud(Target.local_cloud(endpoint))
        target.client("dynamodb", "eu-west-1").put_item(
            TableName="dynamodb-table-lottery", Item={"email": {"S": "kept@b.c"}})
        assert cli(root, "local", "down").code == 0
        assert cli(root, "local", "up", "--port", str(port)).code == 0
        target = Cloud(Target.local_cloud(endpoint))
        items = target.client("dynamodb", "eu-west-1").scan(
            TableName="dynamodb-table-lottery")["Items"]
        assert {"email": {"S": "kept@b.c"}} in items
        again = cli(root, "deploy", "--endpoint", endpoint, "--app", "raffle", "--yes")
        assert again.code == 0 and "deploy (dev): 0 write call(s)" in again.out, again.out
        assert cli(root, "local", "down").code == 0
        assert cli(root, "local", "up", "--port", str(port), "--fresh").code == 0
        status = cli(root, "status", "--endpoint", endpoint, "--app", "raffle")
        assert "raffle-dev-table                   not deployed" in status.out
    finally:
        cli(root, "local", "down")


EXTRA_APP = {
    "blueprints/extra/app.yaml": "version: 1\nname: extra\nenvironments:\n"
                                 "  dev: {region: eu-west-1}\n",
    "blueprints/extra/01-first.yaml": "resources:\n  Note:\n    kind: parameter\n"
                                      "    name: /extra/note\n    value: one\n",
    "blueprints/extra/02-second.yaml": "resources:\n  Log:\n    kind: table\n"
                                       "    name: extra-log\n    key: {id: S}\n",
}


def test_a_removed_stage_is_named_and_pruned_with_consent_keeping_its_data(root, local,
                                                                          cli):
    write_files(root, EXTRA_APP)
    synth(str(root), cache_path=None, run_lint=False)
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "extra",
               "--yes").code == 0
    local.client("dynamodb").put_item(TableName="extra-log", Item={"id": {"S": "x"}})
    (root / "blueprints/extra/02-second.yaml").unlink()
    synth(str(root), cache_path=None, run_lint=False)
    run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "extra", "--yes")
    assert run.code == 0
    assert "stage removed from the blueprints, stack still deployed: extra-dev-second; " \
           "deploy with --prune to delete it (its data is kept)" in run.out
    cloud = Cloud(Target.local_cloud(local.endpoint))
    assert cloud.stack("extra-dev-second", "eu-west-1") is not None
    run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "extra", "--prune")
    assert run.code == 3, run.out + run.err          # no terminal, no --yes: not deleted
    assert cloud.stack("extra-dev-second", "eu-west-1") is not None
    run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "extra", "--prune",
              "--yes")
    assert run.code == 0, run.out + run.err
    assert "[extra-dev-second] deleted" in run.out
    assert "extra-dev-second Log extra-log" in run.out
    assert cloud.stack("extra-dev-second", "eu-west-1") is None
    assert _items(local, "extra-log", "id") == {"x"}


def test_a_table_added_to_a_deployed_stack_is_imported_with_what_the_stack_holds(root, local,
                                                                                 cli):
    write_files(root, {k: v for k, v in EXTRA_APP.items() if "02-second" not in k})
    synth(str(root), cache_path=None, run_lint=False)
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "extra",
               "--yes").code == 0
    dynamodb = local.client("dynamodb")
    dynamodb.create_table(TableName="extra-made-by-hand", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id",
                                                 "AttributeType": "S"}])
    dynamodb.put_item(TableName="extra-made-by-hand", Item={"id": {"S": "by-hand"}})
    write_files(root, {"blueprints/extra/01-first.yaml": EXTRA_APP[
        "blueprints/extra/01-first.yaml"] + "  Hand:\n    kind: table\n"
        "    name: extra-made-by-hand\n    key: {id: S}\noutputs:\n  Hand: !Ref Hand\n"})
    synth(str(root), cache_path=None, run_lint=False)
    run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "extra", "--yes")
    assert run.code == 0, run.out + run.err
    assert "adopt Hand (extra-made-by-hand): it exists and holds data" in run.out
    assert "extra-dev-first                    updated (adopted Hand)" in run.out
    assert _items(local, "extra-made-by-hand", "id") == {"by-hand"}
    cloud = Cloud(Target.local_cloud(local.endpoint))
    assert cloud.stack("extra-dev-first", "eu-west-1").outputs["Hand"] == "extra-made-by-hand"


def test_a_table_another_stack_owns_stops_the_deploy_before_any_write(root, local, cli):
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0
    write_files(root, {"blueprints/extra/03-thief.yaml": "resources:\n  Stolen:\n"
                       "    kind: table\n    name: dynamodb-table-lottery\n"
                       "    key: {email: S}\n"})
    synth(str(root), cache_path=None, run_lint=False)
    try:
        run = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "extra", "--yes")
        assert run.code == 1
        assert "Stolen (dynamodb-table-lottery) exists and belongs to stack raffle-dev-table;" \
               " nothing was changed" in run.err
        cloud = Cloud(Target.local_cloud(local.endpoint))
        assert cloud.stack("extra-dev-thief", "eu-west-1") is None
    finally:
        (root / "blueprints/extra/03-thief.yaml").unlink()
        synth(str(root), cache_path=None, run_lint=False)


def test_two_real_deploys_one_waits_for_the_other(root, local, cli):
    _changed(root, "concurrent")
    first = subprocess.Popen(_deploy_command(root, local) + ["--app", "raffle"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _until(first, "[raffle-dev-table]")     # past the lock: it holds it now
        first.send_signal(signal.SIGSTOP)               # and stays in the middle of its run
        refused = cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle",
                      "--yes")
        assert refused.code == 1 and f"(pid {first.pid}, run " in refused.err
        second = subprocess.Popen(_deploy_command(root, local) + [
            "--app", "raffle", "--lock-timeout", "20"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        assert _until(second, "waiting up to 20 s for the deploy lock")
        first.send_signal(signal.SIGCONT)
        assert first.wait(timeout=20) == 0
        out, err = second.communicate(timeout=20)
        assert second.returncode == 0, out + err
    finally:
        first.send_signal(signal.SIGCONT)
        first.kill()


def test_a_plan_after_clean_says_what_it_would_adopt_and_changes_nothing(root, local, cli,
                                                                        tmp_path):
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0
    assert cli(root, "clean", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0
    markdown = tmp_path / "plan.md"
    run = cli(root, "plan", "--endpoint", local.endpoint, "--app", "raffle",
              "--detailed-exitcode", "--markdown", str(markdown))
    assert run.code == 4, run.out + run.err
    assert "[raffle-dev-table] adopt Entries (dynamodb-table-lottery): it exists and holds " \
           "data" in run.out
    assert "- adopt Entries (dynamodb-table-lottery): it exists and holds data; its change " \
           "set is made after the import" in markdown.read_text()
    cloud = Cloud(Target.local_cloud(local.endpoint))
    assert cloud.stack("raffle-dev-table", "eu-west-1") is None
    assert cli(root, "deploy", "--endpoint", local.endpoint, "--app", "raffle",
               "--yes").code == 0


@pytest.mark.parametrize("break_it,expected", [
    ("truncate", "build/dev/raffle/manifest.json cannot be read ("),
    ("not a manifest", "build/dev/raffle/manifest.json is not a manifest this generator "
                       "wrote; run `make synth`"),
    ("template gone", "build/dev/raffle/02-functions.yaml does not exist, but the manifest "
                      "lists it; run `make synth`"),
])
@pytest.mark.parametrize("verb", ["deploy", "plan", "status", "outputs", "clean"])
def test_a_broken_build_is_named_by_every_verb(tmp_path, local, cli, verb, break_it,
                                               expected):
    broken = project(tmp_path)
    manifest = broken / "build/dev/raffle/manifest.json"
    if break_it == "truncate":
        manifest.write_text(manifest.read_text()[:100])
    elif break_it == "not a manifest":
        manifest.write_text('["stacks"]')
    else:
        (broken / "build/dev/raffle/02-functions.yaml").unlink()
    run = cli(broken, verb, "--endpoint", local.endpoint, *(
        ["--yes"] if verb in ("deploy", "clean") else []))
    assert run.code == 1
    assert expected in run.err and "make synth" in run.err
    assert "internal error" not in run.err and "Traceback" not in run.err
