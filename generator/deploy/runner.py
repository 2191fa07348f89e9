"""Deploy stacks in dependency order: each as soon as its own dependencies are done.

Per stack: describe it; skip it when the hash of what produced it (template, parameters,
tags) is unchanged; otherwise upload its assets, create a change set, show it, apply the
gates (data loss needs --allow-replace or a typed yes; security changes and anything at
all in a non-interactive run need --yes), execute it and stream its events, then run its
after-deploy steps. A failure stops its dependants and lets running stacks finish.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ..paths import resolve
from .bootstrap import STACK as ASSET_STACK
from .bootstrap import bootstrap_stack
from .cloud import Cloud, DeployError
from .manifest import StackSpec
from .models import HASH_TAG, Change, StackState
from .plan import added_permissions, change_markdown, change_table, decide, gate, stack_hash
from .templates import template_resources

EMPTY_REASONS = ("didn't contain changes", "No updates are to be performed")
MAX_TEMPLATE_BODY = 51_200
CHANGE_SET_PREFIX = "bp-"
CANCELLED = ("Resource creation cancelled", "Resource update cancelled")


@dataclass(frozen=True)
class Options:
    yes: bool = False
    interactive: bool = False
    allow_replace: frozenset[str] = frozenset()
    parallel: int = 4
    plan_only: bool = False


@dataclass
class Outcome:
    """What happened to each stack in a run."""

    results: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    @property
    def markdown(self) -> list[str]:
        """The plan as Markdown, in deploy order whatever order stacks finished in."""
        return [line for key in self.order for line in self.sections.get(key, [])]
    failures: dict[str, str] = field(default_factory=dict)


class MissingDependency(DeployError):
    """A stack needs an output of a stack that is not deployed yet."""


class Console:
    """Thread-safe progress lines, one prefix per stack, and serialized questions."""

    def __init__(self, out=None, ask: Callable[[str], str] | None = None) -> None:
        self._out, self._ask, self._lock = out, ask, threading.Lock()

    @property
    def out(self):
        return self._out or sys.stdout

    def say(self, stack: str, message: str) -> None:
        with self._lock:
            print(f"[{stack}] {message}", file=self.out, flush=True)

    def lines(self, lines: list[str]) -> None:
        with self._lock:
            print("\n".join(lines), file=self.out, flush=True)

    def ask(self, question: str) -> str:
        with self._lock:
            return (self._ask or input)(question).strip()


class Deployer:
    def __init__(self, root: str, cloud: Cloud, console: Console, options: Options,
                 steps: Callable | None = None) -> None:
        self.root, self.cloud, self.console, self.options = root, cloud, console, options
        self.steps = steps
        self.outcome = Outcome()
        self._states: dict[str, StackState] = {}
        self._regions: dict[str, str] = {}

    # -- scheduling -----------------------------------------------------------------
    def run(self, stacks: list[StackSpec]) -> Outcome:
        self._check_account(stacks)
        nodes = self._with_bootstrap(stacks)
        self.outcome.order = list(nodes)
        self._regions = {s.name: s.region for s in stacks}
        with ThreadPoolExecutor(max_workers=max(1, self.options.parallel)) as pool:
            try:
                self._schedule(pool, nodes)
            except KeyboardInterrupt:
                self.cloud.stopping.set()      # running stacks stop waiting within ~2 s
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return self.outcome

    def _schedule(self, pool: ThreadPoolExecutor, nodes: dict[str, StackSpec]) -> None:
        """Start each stack once its dependencies are done; a failure stops its dependants."""
        waiting, running = dict(nodes), {}
        done: set[str] = set()
        failed: set[str] = set()
        while waiting or running:
            for key, spec in list(waiting.items()):
                deps = self._deps(spec, nodes)
                if deps & failed:
                    failed.add(key)
                    self.outcome.results[key] = "not started (a dependency failed)"
                    del waiting[key]
                elif deps <= done:
                    running[pool.submit(self._one, key, spec)] = key
                    del waiting[key]
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                key = running.pop(future)
                if self._finished(key, future):
                    done.add(key)
                else:
                    failed.add(key)

    def _finished(self, key: str, future: Future) -> bool:
        try:
            future.result()
            return True
        except (DeployError, BotoCoreError, ClientError) as exc:
            self.outcome.failures[key] = str(exc)
            self.outcome.results[key] = "failed"
            self.console.say(key, f"FAILED: {exc}")
            return False

    def _check_account(self, stacks: list[StackSpec]) -> None:
        """Credentials work, and an environment pinned to an account (app.yaml
        `account:`) deploys nowhere else; checked once, before anything else."""
        if self.cloud.target.local or not stacks:
            return
        try:
            actual = self.cloud.client("sts", stacks[0].region).get_caller_identity()["Account"]
        except NoCredentialsError:
            raise DeployError("no AWS credentials found: set AWS_PROFILE (or run `aws sso "
                              "login`, or export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); "
                              "to deploy to the local cloud instead, add --local") from None
        except ClientError as exc:
            raise DeployError(f"these AWS credentials do not work: {exc}") from None
        wanted = {s.account for s in stacks if s.account}
        if wanted and wanted != {actual}:
            raise DeployError(f"these credentials are for account {actual}, but the "
                              f"environment is pinned to {', '.join(sorted(wanted))} "
                              "(app.yaml `account:`); nothing was changed. Use credentials "
                              "for that account")

    def _with_bootstrap(self, stacks: list[StackSpec]) -> dict[str, StackSpec]:
        nodes: dict[str, StackSpec] = {}
        for region in sorted({s.region for s in stacks if _needs_assets(s)}):
            nodes[f"{ASSET_STACK}@{region}"] = bootstrap_stack(region)
        nodes.update((s.name, s) for s in stacks)
        return nodes

    def _deps(self, spec: StackSpec, nodes: dict[str, StackSpec]) -> set[str]:
        """Dependencies within this run; others (e.g. with --stage) must already exist."""
        deps = {d for d in spec.depends_on if d in nodes}
        if _needs_assets(spec):
            deps.add(f"{ASSET_STACK}@{spec.region}")
        return deps

    # -- one stack -------------------------------------------------------------------
    def _one(self, key: str, spec: StackSpec) -> None:
        try:
            parameters = self._parameters(spec)
        except MissingDependency as exc:
            if not self.options.plan_only:
                raise
            self.console.say(key, f"cannot be planned yet: {exc}")
            self.outcome.results[key] = "waits for a dependency"
            self.outcome.sections[key] = [f"### {spec.name}", "",
                                          f"Cannot be planned yet: {exc}", ""]
            return
        wanted = stack_hash(spec.template, parameters, spec.tags)
        state = self.cloud.stack(spec.name, spec.region)
        decision = decide(spec.name, spec.region, state, wanted)
        if decision.action == "stop":
            raise DeployError(decision.reason)
        if decision.action == "skip":
            self.console.say(key, "unchanged")
            self.outcome.results[key] = "unchanged"
            self.outcome.sections[key] = [f"### {spec.name}", "", "Unchanged.", ""]
        else:
            if decision.action == "recreate":
                self._recreate(key, spec, state)
            state = self._change(key, spec, parameters, wanted,
                                 "UPDATE" if decision.action == "update" else "CREATE") or state
        self._states[key] = state
        self.outcome.outputs[spec.name] = state.outputs if state else {}
        if state is not None and self.steps and not self.options.plan_only and spec.after_deploy:
            self.steps(self, spec, state)

    def _recreate(self, key: str, spec: StackSpec, state: StackState) -> None:
        self.console.say(key, f"{spec.name} is {state.status}: it holds nothing, so it is "
                              "deleted and created again")
        if self.options.plan_only:
            return
        self.cloud.delete_stack(spec.name, spec.region)
        status = self.cloud.wait_stack(spec.name, spec.region, lambda e: None, set())
        if status != "DELETE_COMPLETE":
            raise DeployError(f"could not delete {spec.name} ({status}); delete it by hand: "
                              f"aws cloudformation delete-stack --stack-name {spec.name} "
                              f"--region {spec.region}")

    def _change(self, key: str, spec: StackSpec, parameters: dict, wanted: str,
                kind: str) -> StackState | None:
        for stale in self.cloud.stale_change_sets(spec.name, spec.region, CHANGE_SET_PREFIX):
            self.console.say(key, f"deleting a change set left by an earlier run: {stale}")
            self.cloud.delete_change_set(spec.name, spec.region, stale)
        if not self.options.plan_only:
            self._upload_assets(key, spec)
        name = f"{CHANGE_SET_PREFIX}{wanted[:12]}-{int(time.time())}"
        tags = {**spec.tags, HASH_TAG: wanted}
        self.cloud.create_change_set(spec.name, spec.region, name, kind,
                                     self._template_arg(spec), parameters, tags)
        status, reason, changes = self.cloud.wait_change_set(spec.name, spec.region, name)
        if status == "FAILED":
            return self._failed_change_set(key, spec, name, reason, kind)
        self.console.lines([f"[{key}] change set ({kind.lower()}):",
                            *change_table(spec.name, changes)])
        self.outcome.sections[key] = change_markdown(spec.name, changes)
        if self.options.plan_only or not self._consent(key, spec, changes):
            self.cloud.delete_change_set(spec.name, spec.region, name)
            if kind == "CREATE":   # the empty REVIEW_IN_PROGRESS stack the change set made
                self.cloud.delete_stack(spec.name, spec.region)
            self.outcome.results[key] = "planned" if self.options.plan_only else "not executed"
            return None
        return self._execute(key, spec, name, kind)

    def _failed_change_set(self, key: str, spec: StackSpec, name: str, reason: str,
                           kind: str) -> StackState | None:
        self.cloud.delete_change_set(spec.name, spec.region, name)
        if any(r in reason for r in EMPTY_REASONS):
            self.console.say(key, "no changes")
            self.outcome.results[key] = "no changes"
            self.outcome.sections[key] = [f"### {spec.name}", "", "No changes.", ""]
            return self.cloud.stack(spec.name, spec.region)
        if kind == "CREATE":
            self.cloud.delete_stack(spec.name, spec.region)
        raise DeployError(f"CloudFormation refused the change set: {reason}")

    def _consent(self, key: str, spec: StackSpec, changes: list[Change]) -> bool:
        checks = gate(changes, frozenset(spec.data_holding))
        blocked = checks.blocked_unless_allowed(self.options.allow_replace)
        if checks.security:
            self.console.lines([f"[{key}] security changes (new or changed permissions):"]
                               + self._security_lines(spec, checks.security))
        for change in blocked:
            what = "removes" if change.action == "Remove" else "replaces"
            if not self.options.interactive:
                raise DeployError(
                    f"this change {what} {change.logical_id} ({change.resource_type}), which "
                    "holds data that would be lost; nothing was executed. If that is really "
                    f"what you want, deploy again with --allow-replace {change.logical_id}")
            answer = self.console.ask(f"[{key}] this {what} {change.logical_id} "
                                      f"({change.resource_type}) and loses its data; type "
                                      f"{change.logical_id} to allow it: ")
            if answer != change.logical_id:
                self.console.say(key, "not confirmed; nothing executed")
                return False
        if self.options.yes:
            return True
        if not self.options.interactive:
            self.console.say(key, "not executed: no terminal to confirm on and no --yes")
            return False
        return self.console.ask(f"[{key}] execute this change set? [y/N] ").lower() in ("y",
                                                                                      "yes")

    def _security_lines(self, spec: StackSpec, changes: tuple[Change, ...]) -> list[str]:
        """Each security change, with the permissions it adds (old template vs new)."""
        new = template_resources(spec.template)
        old: dict = {}
        if any(c.action == "Modify" for c in changes):
            old = template_resources(self.cloud.template_body(spec.name, spec.region))
        lines = []
        for change in changes:
            lines.append(f"  {change.action} {change.logical_id} ({change.resource_type})"
                         + (f": {', '.join(change.properties)}" if change.properties else ""))
            lines += [f"      {row}" for row in added_permissions(
                old.get(change.logical_id), new.get(change.logical_id))]
        return lines

    def _execute(self, key: str, spec: StackSpec, name: str, kind: str) -> StackState:
        seen = {e["EventId"] for e in self.cloud.events(spec.name, spec.region, set())}
        started = time.monotonic()
        self.cloud.execute_change_set(spec.name, spec.region, name)
        failures: list[dict] = []

        def show(event: dict) -> None:
            status = event.get("ResourceStatus", "")
            reason = event.get("ResourceStatusReason") or ""
            if status.endswith("FAILED") and not reason.startswith(CANCELLED):
                failures.append(event)
            self.console.say(key, f"{event.get('LogicalResourceId')} {status}"
                                  + (f": {reason}" if reason else ""))

        final = self.cloud.wait_stack(spec.name, spec.region, show, seen)
        if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            raise DeployError(self._failure(spec, kind, final, failures))
        self.console.say(key, f"{final.lower().replace('_', ' ')} in "
                              f"{time.monotonic() - started:.1f} s")
        self.outcome.results[key] = "created" if kind == "CREATE" else "updated"
        return self.cloud.stack(spec.name, spec.region)

    def _failure(self, spec: StackSpec, kind: str, final: str, failures: list[dict]) -> str:
        first = next((e for e in failures if e.get("LogicalResourceId") != spec.name),
                     failures[0] if failures else None)
        cause = (f"{first['LogicalResourceId']} ({first.get('ResourceType')}): "
                 f"{first.get('ResourceStatusReason')}") if first else "see the stack events"
        kept = ", ".join(spec.data_holding) or "none"
        if kind == "CREATE":
            todo = ("the new stack rolled back and holds nothing; fix the cause and deploy "
                    "again (the failed stack is deleted and created anew)")
        else:
            todo = (f"the stack rolled back to its previous version ({final}); data-holding "
                    f"resources were kept ({kept}); fix the cause and deploy again")
        return f"{spec.name} failed: {cause}. What to do: {todo}"

    # -- inputs ------------------------------------------------------------------------
    def region_of(self, stack: str, default: str) -> str:
        """The region of a stack of this run (the default for one outside it)."""
        return self._regions.get(stack, default)

    def wanted_hash(self, spec: StackSpec) -> str:
        """The hash a stack deployed from build/ would carry (needs its inputs deployed)."""
        return stack_hash(spec.template, self._parameters(spec), spec.tags)

    def remember(self, name: str, state: StackState) -> None:
        """A stack's state, for the parameters of the stacks that use its outputs."""
        self._states[name] = state

    def _parameters(self, spec: StackSpec) -> dict[str, str]:
        values = {}
        for name, source in sorted(spec.parameters.items()):
            if source.get("default"):
                continue
            values[name] = self.resolve(spec, source)
        return values

    def resolve(self, spec: StackSpec, source: dict) -> str:
        """The value of a manifest reference: an output, the asset bucket, a zone id."""
        if "output" in source:
            stack = source["stack"]
            state = self._states.get(stack) or self.cloud.stack(
                stack, self._regions.get(stack, spec.region))
            if state is None or source["output"] not in state.outputs:
                raise MissingDependency(f"{spec.name} needs output {source['output']} of {stack}, "
                                  f"which {'has no such output' if state else 'does not exist'};"
                                  f" deploy {stack} first")
            return state.outputs[source["output"]]
        if source.get("asset_bucket"):
            return self._asset_bucket(spec.region)
        if "hosted_zone" in source:
            zone = self.cloud.hosted_zone_id(source["hosted_zone"], create=self.cloud.target.local
                                             and not self.options.plan_only)
            if zone is None:
                raise DeployError(f"no Route 53 hosted zone named {source['hosted_zone']}; "
                                  "register the domain (or create its zone) first")
            return zone
        raise DeployError(f"{spec.name}: unknown parameter source {source}; run `make synth`")

    def _asset_bucket(self, region: str) -> str:
        key = f"{ASSET_STACK}@{region}"
        state = self._states.get(key) or self.cloud.stack(ASSET_STACK, region)
        if state is None or "BucketName" not in state.outputs:
            raise MissingDependency(f"the asset bucket stack {ASSET_STACK} in {region} is not "
                                    "deployed yet")
        return state.outputs["BucketName"]

    def _upload_assets(self, key: str, spec: StackSpec) -> None:
        if not spec.assets:
            return
        bucket = self._asset_bucket(spec.region)
        for asset in spec.assets:
            if self.cloud.object_exists(bucket, asset["key"], spec.region):
                continue
            if not os.path.lexists(os.path.join(self.root, asset["file"])):
                raise DeployError(f"{asset['file']} is missing (zips are not committed); "
                                  "run `make synth` to build it")
            with open(resolve(self.root, asset["file"]), "rb") as handle:
                self.cloud.put_object(bucket, asset["key"], handle.read(), spec.region)
            self.console.say(key, f"uploaded {asset['key']}")

    def _template_arg(self, spec: StackSpec) -> dict:
        if len(spec.template) <= MAX_TEMPLATE_BODY:
            return {"TemplateBody": spec.template.decode("utf-8")}
        bucket = self._asset_bucket(spec.region)
        object_key = f"templates/{hashlib.sha256(spec.template).hexdigest()}.yaml"
        if not self.cloud.object_exists(bucket, object_key, spec.region):
            self.cloud.put_object(bucket, object_key, spec.template, spec.region)
        if self.cloud.target.local:
            url = f"{self.cloud.target.endpoint}/{bucket}/{object_key}"
        else:
            url = f"https://{bucket}.s3.{spec.region}.amazonaws.com/{object_key}"
        return {"TemplateURL": url}


def _needs_assets(spec: StackSpec) -> bool:
    return bool(spec.assets) or any(s.get("asset_bucket") for s in spec.parameters.values()) \
        or len(spec.template) > MAX_TEMPLATE_BODY
