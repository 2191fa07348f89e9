"""One stack's flow: describe → decide → (recreate) → adopt → change set → gates →
execute → after-deploy steps.

Each step asks the cloud (through `Cloud`), turns what it found into a plain-data
decision (`plan.py`, `adopt.py`), and acts on it. Executing a change set (the import
one too) is the only step that changes a stack, and it is the commit point: after
Ctrl-C it does not happen (`Cloud.execute_change_set`). Everything before it can be
dropped without leaving anything but a change set the next run deletes. While a stack
is under way, `Outcome.phases` says where it is, for the summary after an interrupt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from typing import TYPE_CHECKING

from ..paths import resolve
from .adopt import (
    Adoption,
    Candidate,
    candidates,
    import_template,
    plan_adoptions,
    recorded_candidates,
)
from .cloud import DeployError
from .ledger import forget, recorded
from .lock import run_of
from .manifest import StackSpec
from .models import HASH_TAG, Change, StackState
from .plan import change_markdown, change_table, decide, gate, stack_hash
from .preview import gate_markdown, new_stack_section, template_changes
from .security import SecurityChange, review, security_lines, security_markdown
from .templates import template_resources

if TYPE_CHECKING:
    from .runner import Deployer

EMPTY_REASONS = ("didn't contain changes", "No updates are to be performed")
MAX_TEMPLATE_BODY = 51_200
CHANGE_SET_PREFIX = "bp-"
CANCELLED = ("Resource creation cancelled", "Resource update cancelled")
NOT_EXECUTED = "not executed"


class MissingDependency(DeployError):
    """A stack needs an output of a stack that is not deployed yet."""


class NotConsented(DeployError):
    """A gate stopped a change set for lack of consent: nothing was executed."""


class StackFlow:
    """The per-stack steps of one run; the scheduler calls `run` once per stack."""

    def __init__(self, deployer: Deployer) -> None:
        self.deployer = deployer
        self.cloud, self.console = deployer.cloud, deployer.console
        self.options, self.outcome = deployer.options, deployer.outcome
        self.root = deployer.root

    def run(self, key: str, spec: StackSpec) -> None:
        """Take one stack from what is deployed to what build/ holds."""
        self.outcome.phases[key] = "was being looked at; nothing changed"
        self.console.begin(key, len(template_resources(spec.template)))
        parameters = self._parameters(key, spec)
        if parameters is None:
            return
        wanted = stack_hash(spec.template, parameters, spec.tags)
        state = self.cloud.stack(spec.name, spec.region)
        decision = decide(spec.name, spec.region, state, wanted)
        if decision.action == "stop":
            raise DeployError(decision.reason)
        if decision.action == "skip":
            self._tidy(key, spec)            # leftovers of finished runs go, even here
            self.console.say(key, "unchanged")
            self.outcome.results[key] = "unchanged"
            self.outcome.sections[key] = [f"### {spec.name}", "", "Unchanged.", ""]
        else:
            if decision.action == "recreate":
                self._recreate(key, spec, state)
            state = self._converge(key, spec, parameters, wanted,
                                   "UPDATE" if decision.action == "update" else "CREATE") or state
        self.deployer.remember(key, state)
        self.outcome.outputs[spec.name] = state.outputs if state else {}
        steps = self.deployer.steps
        if state is not None and steps and not self.options.plan_only and spec.after_deploy:
            self.outcome.phases[key] = ("deployed; its after-deploy steps were running (the "
                                        "next deploy runs them again)")
            steps(self.deployer, spec, state)
        del self.outcome.phases[key]

    def _parameters(self, key: str, spec: StackSpec) -> dict[str, str] | None:
        """The stack's parameter values; None when a plan has planned it already,
        because some of its inputs exist only after a deploy (`preview.py`)."""
        if not self.options.plan_only:
            return self.deployer.parameters(spec)
        unknown: dict[str, str] = {}
        values = self.deployer.parameters(spec, unknown)
        if not unknown:
            return values
        inputs = ", ".join(f"{name} ({what})" for name, what in sorted(unknown.items()))
        if self.cloud.stack(spec.name, spec.region) is not None:
            self.console.say(key, f"cannot be planned yet: it needs {inputs}, known after "
                                  "its dependencies deploy")
            self.outcome.results[key] = "waits for a dependency"
            self.outcome.sections[key] = [f"### {spec.name}", "", "Cannot be planned yet: "
                                          f"it needs {inputs}, known after deploy.", ""]
            return None
        self.console.lines([f"[{key}] new stack, planned from its template (known after "
                            f"deploy: {inputs}):",
                            *change_table(spec.name, template_changes(spec.template))])
        self.outcome.results[key] = "planned (new; inputs known after deploy)"
        self.outcome.sections[key] = new_stack_section(spec.name, spec.template, unknown)
        return None

    def _converge(self, key: str, spec: StackSpec, parameters: dict, wanted: str,
                  kind: str) -> StackState | None:
        """Adopt what exists already, then the normal change set."""
        adopted = self._adopt(key, spec, parameters, kind)
        if adopted is None:
            return None
        state = self._change(key, spec, parameters, wanted, "UPDATE" if adopted else kind)
        if adopted and key in self.outcome.results:
            first = "created" if kind == "CREATE" else "updated"
            self.outcome.results[key] = f"{first} (adopted {', '.join(adopted)})"
        return state

    # -- adopt ---------------------------------------------------------------------
    def _adopt(self, key: str, spec: StackSpec, parameters: dict,
               kind: str) -> list[str] | None:
        """Import the data-holding resources that exist already; return their logical
        ids, or None when this stack stops here (plan, or no consent)."""
        adopt, conflicts = plan_adoptions(spec.name, {
            c: self.cloud.existing(c.resource_type, c.name, spec.region)
            for c in self._candidates(spec, kind)})
        if conflicts:
            raise DeployError("; ".join(
                f"{c.logical_id} ({c.name}) exists and belongs to stack {c.owner}" for c in
                conflicts) + "; nothing was changed. A resource belongs to one stack: remove "
                "it from one of the blueprints, or delete that stack first (its data is kept)")
        if not adopt:
            return []
        self.console.lines([f"[{key}] {a.line}" for a in adopt])
        if self.options.plan_only:
            self.outcome.results[key] = "planned (adopt first)"
            self.outcome.sections[key] = [f"### {spec.name}", ""] + [
                f"- {a.line}; its change set is made after the import" for a in adopt] + [""]
            return None
        if not self._agreed(key, f"import {len(adopt)} existing resource(s) into "
                                 f"{spec.name}? [y/N] "):
            self.outcome.results[key] = NOT_EXECUTED
            return None
        self._import(key, spec, parameters, adopt, kind)
        if self.deployer.state_region:
            forget(self.cloud, self.deployer.state_region, spec.name)
        return [a.logical_id for a in adopt]

    def _candidates(self, spec: StackSpec, kind: str) -> list[Candidate]:
        """Named data-holding resources the stack does not hold yet; for a new stack,
        also what clean recorded it left behind."""
        found = candidates(spec.template, set())
        if found and kind == "UPDATE":
            held = {r["LogicalResourceId"] for r in self.cloud.resources(spec.name, spec.region)}
            found = [c for c in found if c.logical_id not in held]
        if kind == "CREATE" and self.deployer.state_region:
            kept = recorded(self.cloud, self.deployer.state_region, spec.name)
            found += recorded_candidates(spec.template, kept, found)
        return found

    def _import(self, key: str, spec: StackSpec, parameters: dict, adopt: list[Adoption],
                kind: str) -> None:
        old = self.cloud.template_body(spec.name, spec.region) if kind == "UPDATE" else None
        body = import_template(spec.template, old, adopt).encode()
        name = f"{CHANGE_SET_PREFIX}r{self.deployer.run_id}-import"
        self.cloud.create_change_set(
            spec.name, spec.region, name, "IMPORT",
            self._template_arg(dataclasses.replace(spec, template=body)), parameters, {},
            [a.to_import() for a in adopt])
        status, reason, _ = self.cloud.wait_change_set(spec.name, spec.region, name)
        if status == "FAILED":
            self.cloud.delete_change_set(spec.name, spec.region, name)
            raise DeployError(f"CloudFormation refused to import "
                              f"{', '.join(a.logical_id for a in adopt)}: {reason}")
        self._execute(key, spec, name, "IMPORT")

    def _agreed(self, key: str, question: str) -> bool:
        if self.options.yes:
            return True
        if not self.options.interactive:
            self.console.say(key, "not executed: no terminal to confirm on and no --yes")
            return False
        return self.console.ask(f"[{key}] {question}").lower() in ("y", "yes")

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
        self._tidy(key, spec)
        if not self.options.plan_only:
            self._upload_assets(key, spec)
        name = f"{CHANGE_SET_PREFIX}r{self.deployer.run_id}-{wanted[:12]}"
        tags = {**spec.tags, HASH_TAG: wanted}
        self.cloud.create_change_set(spec.name, spec.region, name, kind,
                                     self._template_arg(spec), parameters, tags)
        self.outcome.phases[key] = (f"change set {name} made, not executed; nothing changed "
                                    "(the next deploy deletes it)")
        status, reason, changes = self.cloud.wait_change_set(spec.name, spec.region, name)
        if status == "FAILED":
            return self._failed_change_set(key, spec, name, reason, kind)
        self.console.lines([f"[{key}] change set ({kind.lower()}):",
                            *change_table(spec.name, changes)])
        self.outcome.sections[key] = change_markdown(spec.name, changes) + gate_markdown(
            changes, spec.data_holding)
        security = self._review(key, spec, changes)
        if self.options.plan_only or not self._consented(key, spec, name, kind, changes,
                                                         security):
            self._drop(spec, name, kind)
            self.outcome.results[key] = "planned" if self.options.plan_only else NOT_EXECUTED
            return None
        return self._execute(key, spec, name, kind)

    def _tidy(self, key: str, spec: StackSpec) -> None:
        """Delete change sets left by earlier runs, but never one of the run that holds
        the lock now (a plan beside a deploy must not pull its change set away)."""
        for stale in self.cloud.stale_change_sets(spec.name, spec.region, CHANGE_SET_PREFIX):
            if run_of(stale) in self.deployer.protected_runs:
                continue
            self.console.say(key, f"deleting a change set left by an earlier run: {stale}")
            self.cloud.delete_change_set(spec.name, spec.region, stale)

    def _drop(self, spec: StackSpec, name: str, kind: str) -> None:
        """Delete a change set that will not run (and the empty stack a CREATE one made)."""
        self.cloud.delete_change_set(spec.name, spec.region, name)
        if kind == "CREATE":   # the empty REVIEW_IN_PROGRESS stack the change set made
            self.cloud.delete_stack(spec.name, spec.region)

    def _consented(self, key: str, spec: StackSpec, name: str, kind: str,
                   changes: list[Change], security: list[SecurityChange]) -> bool:
        """The gates; a refusal they raise is told apart from a failure (exit code 3),
        and the change set it stopped is deleted."""
        try:
            return self._consent(key, spec, changes, security)
        except DeployError as exc:
            self._drop(spec, name, kind)
            raise NotConsented(str(exc)) from None

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

    def _consent(self, key: str, spec: StackSpec, changes: list[Change],
                 security: list[SecurityChange]) -> bool:
        checks = gate(changes, frozenset(spec.data_holding))
        blocked = checks.blocked_unless_allowed(self.options.allow_replace)
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
        if any(item.rows for item in security):
            answer = self.console.ask(f"[{key}] this change set widens access or weakens a "
                                      "protection (listed above); type yes to execute it: ")
            return answer == "yes"
        return self.console.ask(f"[{key}] execute this change set? [y/N] ").lower() in ("y",
                                                                                      "yes")

    def _review(self, key: str, spec: StackSpec, changes: list[Change]
                ) -> list[SecurityChange]:
        """The security review (deployed template against the new one), shown and added
        to the plan; consent to it is asked for with the change set's."""
        old: dict = {}
        if any(c.action in ("Modify", "Remove") for c in changes):
            old = template_resources(self.cloud.template_body(spec.name, spec.region))
        found = review(changes, old, template_resources(spec.template))
        if found:
            self.console.lines([f"[{key}] security changes (new permissions or weaker "
                                "protections):"] + security_lines(found))
            self.outcome.sections[key] = self.outcome.sections[key] + security_markdown(found)
        return found

    def _execute(self, key: str, spec: StackSpec, name: str, kind: str) -> StackState:
        seen = {e["EventId"] for e in self.cloud.events(spec.name, spec.region, set())}
        started = time.monotonic()
        self.cloud.execute_change_set(spec.name, spec.region, name)
        self.outcome.phases[key] = (f"{kind.lower()} executing: CloudFormation finishes it on "
                                    "its own; the next deploy picks up from there")
        failures: list[dict] = []

        def show(event: dict) -> None:
            status = event.get("ResourceStatus", "")
            reason = event.get("ResourceStatusReason") or ""
            if status.endswith("FAILED") and not reason.startswith(CANCELLED):
                failures.append(event)
            self.console.say(key, f"{event.get('LogicalResourceId')} {status}"
                                  + (f": {reason}" if reason else ""))

        final = self.cloud.wait_stack(spec.name, spec.region, show, seen)
        if final not in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"):
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


    def _upload_assets(self, key: str, spec: StackSpec) -> None:
        if not spec.assets:
            return
        bucket = self.deployer.asset_bucket(spec.region)
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
        bucket = self.deployer.asset_bucket(spec.region)
        object_key = f"templates/{hashlib.sha256(spec.template).hexdigest()}.yaml"
        if not self.cloud.object_exists(bucket, object_key, spec.region):
            self.cloud.put_object(bucket, object_key, spec.template, spec.region)
        if self.cloud.target.local:
            url = f"{self.cloud.target.endpoint}/{bucket}/{object_key}"
        else:
            url = f"https://{bucket}.s3.{spec.region}.amazonaws.com/{object_key}"
        return {"TemplateURL": url}


def needs_assets(spec: StackSpec) -> bool:
    return bool(spec.assets) or any(s.get("asset_bucket") for s in spec.parameters.values()) \
        or len(spec.template) > MAX_TEMPLATE_BODY
