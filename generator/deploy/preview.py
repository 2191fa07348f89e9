"""A plan of the whole graph, before anything exists: what plan.md shows beyond change sets.

A change set needs every parameter's value, and on an empty account (or an empty local
cloud) a stack's inputs are outputs of stacks that are not deployed yet. Such a stack is
planned from its own template instead: every resource is added, its security review runs
against nothing, and each unknown input reads `(known after deploy)`. Its dependants are
planned the same way, so a first deploy is reviewable as a whole. A stack that exists but
waits for a new input cannot be planned exactly (its change set needs the value): it is
listed with that input, never guessed.

Also here: the data-loss gates a change set would meet (so the reviewer sees what needs
`--allow-replace`) and the Mermaid diagram of the stacks, changed ones marked.
"""

from __future__ import annotations

from .models import Change
from .plan import change_markdown, gate
from .security import review, security_markdown
from .templates import template_resources

KNOWN_AFTER = "(known after deploy)"


def template_changes(template: bytes) -> list[Change]:
    """A new stack's change set, read from its template: every resource is added."""
    return [Change("Add", logical_id, body.get("Type", "?"), "")
            for logical_id, body in sorted(template_resources(template).items())
            if isinstance(body, dict)]


def new_stack_section(name: str, template: bytes, unknown: dict[str, str]) -> list[str]:
    """plan.md for a stack planned from its template (its inputs not known yet)."""
    changes = template_changes(template)
    lines = change_markdown(name, changes)
    lines[2:2] = ["New stack, planned from its template: its inputs are outputs of stacks "
                  "this deploy creates first.", ""]
    lines += ["| input | value |", "|---|---|"]
    lines += [f"| `{param}` | {KNOWN_AFTER} ({source}) |"
              for param, source in sorted(unknown.items())] + [""]
    found = review(changes, {}, template_resources(template))
    return lines + (security_markdown(found) if found else [])


def gate_markdown(changes: list[Change], data_holding: tuple[str, ...]) -> list[str]:
    """The data-loss gates of a change set, as plan.md lines (none: nothing)."""
    blocked = gate(changes, frozenset(data_holding)).blocked
    if not blocked:
        return []
    lines = ["#### Data-loss gates (deploy needs `--allow-replace <logical id>`)", ""]
    for change in blocked:
        what = "removed" if change.action == "Remove" else "replaced"
        lines.append(f"- `{change.logical_id}` (`{change.resource_type}`) would be {what} "
                     f"and its data lost: `--allow-replace {change.logical_id}`")
    return lines + [""]


def plan_document(env: str, stacks: list, outcome) -> str:
    """plan.md: the diagram, then each stack's changes, security review and gates."""
    changed = [s.name for s in stacks if _changes(outcome.results.get(s.name, ""))]
    summary = (f"{len(changed)} of {len(stacks)} stack(s) would change: "
               + ", ".join(f"`{n}`" for n in changed)) if changed else \
        f"No changes in {len(stacks)} stack(s)."
    lines = [f"## Deploy plan ({env})", "", summary, ""] + mermaid(stacks, outcome.results)
    return "\n".join(lines + outcome.markdown)


def mermaid(stacks: list, results: dict[str, str]) -> list[str]:
    """The stacks and their dependencies as a Mermaid flowchart (GitHub renders it);
    stacks the plan would change are marked."""
    lines = ["```mermaid", "flowchart LR"]
    for spec in stacks:
        result = results.get(spec.name, "")
        label = f"{spec.name}<br/>{_short(result)}" if result else spec.name
        lines.append(f'  {_node(spec.name)}["{label}"]')
    for spec in stacks:
        for dep in spec.depends_on:
            lines.append(f"  {_node(dep)} --> {_node(spec.name)}")
    changed = [_node(s.name) for s in stacks if _changes(results.get(s.name, ""))]
    unchanged = [_node(s.name) for s in stacks if s.name in results
                 and not _changes(results[s.name])]
    lines.append("  classDef changed fill:#fff3cd,stroke:#d39e00,stroke-width:2px")
    lines.append("  classDef same fill:#eeeeee,stroke:#999999")
    if changed:
        lines.append(f"  class {','.join(changed)} changed")
    if unchanged:
        lines.append(f"  class {','.join(unchanged)} same")
    return lines + ["```", ""]


def _changes(result: str) -> bool:
    return result.startswith(("planned", "waits"))


def _short(result: str) -> str:
    return result.split(" (")[0].replace('"', "'")


def _node(name: str) -> str:
    return "s_" + "".join(c if c.isalnum() else "_" for c in name)
