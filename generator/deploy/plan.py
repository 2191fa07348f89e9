"""Decisions, as pure functions of what the cloud said and what build/ holds."""

from __future__ import annotations

import hashlib
import json

from .models import Change, Decision, Gate, StackState

STABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE",
          "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
RECREATE = {"ROLLBACK_COMPLETE": "its first create failed and it holds nothing",
            "REVIEW_IN_PROGRESS": "a create was prepared but never executed",
            "ROLLBACK_FAILED": None, "DELETE_COMPLETE": "it was deleted"}
STUCK = {
    "UPDATE_ROLLBACK_FAILED": "aws cloudformation continue-update-rollback --stack-name "
                              "{stack} --region {region}  (add --resources-to-skip <LogicalId> "
                              "for a resource that cannot roll back), then deploy again",
    "DELETE_FAILED": "see why with `aws cloudformation describe-stack-events --stack-name "
                     "{stack} --region {region}`, remove what blocks the deletion, then "
                     "`aws cloudformation delete-stack --stack-name {stack} --region {region}`",
    "ROLLBACK_FAILED": "aws cloudformation delete-stack --stack-name {stack} --region "
                       "{region}  (the failed create left resources CloudFormation could "
                       "not remove; delete what it names), then deploy again",
}


def stack_hash(template: bytes, parameters: dict[str, str], tags: dict[str, str]) -> str:
    """What produced a stack: its template, parameter values and tags."""
    digest = hashlib.sha256(template)
    digest.update(json.dumps([sorted(parameters.items()), sorted(tags.items())]).encode())
    return digest.hexdigest()


def decide(stack: str, region: str, state: StackState | None, wanted_hash: str) -> Decision:
    """Skip, create, update, recreate, or stop with the exact recovery step."""
    if state is None:
        return Decision(stack, "create", "new stack")
    status = state.status
    if status in STUCK:
        return Decision(stack, "stop", f"{stack} is {status}; to recover: "
                        + STUCK[status].format(stack=stack, region=region))
    if RECREATE.get(status):
        return Decision(stack, "recreate", f"{stack} is {status} ({RECREATE[status]}): "
                        "deleting it and creating it again")
    if status.endswith("_IN_PROGRESS"):
        return Decision(stack, "stop", f"{stack} is busy ({status}); wait for it to finish "
                        "and deploy again")
    if status in STABLE and state.deployed_hash == wanted_hash:
        return Decision(stack, "skip", "unchanged")
    return Decision(stack, "update", "changed" if state.deployed_hash else "no hash tag yet")


def gate(changes: list[Change], data_ids: frozenset[str] = frozenset()) -> Gate:
    """Which changes need consent: lost data, and new or wider permissions.

    Data is what a data-holding type holds, or what the blueprint marked as holding data
    (`data_holding: true` on a `raw` resource, listed in the manifest)."""
    return Gate(blocked=tuple(c for c in changes
                              if (c.holds_data or c.logical_id in data_ids) and c.destroys),
                security=tuple(c for c in changes if c.is_security))


def change_table(stack: str, changes: list[Change]) -> list[str]:
    """A change set as aligned text rows for a terminal."""
    if not changes:
        return [f"  {stack}: no changes"]
    rows = [("action", "logical id", "type", "replace", "properties")]
    for c in changes:
        rows.append((c.action, c.logical_id, c.resource_type, c.replacement or "-",
                     ", ".join(c.properties) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return [f"  {r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  "
            f"{r[3]:<{widths[3]}}  {r[4]}" for r in rows]


def change_markdown(stack: str, changes: list[Change]) -> list[str]:
    if not changes:
        return [f"### {stack}", "", "No changes.", ""]
    lines = [f"### {stack}", "", "| action | logical id | type | replacement | properties |",
             "|---|---|---|---|---|"]
    for c in changes:
        lines.append(f"| {c.action} | `{c.logical_id}` | `{c.resource_type}` | "
                     f"{c.replacement or '-'} | {', '.join(c.properties) or '-'} |")
    return lines + [""]
