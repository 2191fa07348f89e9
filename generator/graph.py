"""`generator graph`: the stacks of an environment, their resources and dependencies.

Drawn from build/ alone (manifests and templates, no cloud), as Mermaid (GitHub renders
it in Markdown) or Graphviz DOT. Each stack is a box of its resources; an arrow between
stacks is an `!Output` dependency, an arrow inside a stack a `Ref`/`GetAtt`/`Sub`.
"""

from __future__ import annotations

import re
from typing import Any

from .deploy.manifest import load_stacks
from .deploy.templates import template_resources

SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def graph(root: str, env: str = "dev", apps: list[str] | None = None,
          fmt: str = "mermaid", resources: bool = True) -> str:
    """The diagram of every stack of `env` (of `apps`), as Mermaid or DOT text."""
    stacks = load_stacks(root, env, apps)
    shapes = [(s.name, s.depends_on, template_resources(s.template) if resources else {})
              for s in stacks]
    return (_dot if fmt == "dot" else _mermaid)(shapes)


def references(body: Any, names: set[str]) -> set[str]:
    """The resources of `names` a resource body refers to (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(SUB_NAME.findall(text) if isinstance(text, str) else ())
            found |= references(value, names)
    elif isinstance(body, list):
        for item in body:
            found |= references(item, names)
    return found & names


def _id(*parts: str) -> str:
    return "_".join("".join(c if c.isalnum() else "_" for c in p) for p in parts)


def _edges(resources: dict) -> list[tuple[str, str]]:
    names = set(resources)
    return sorted((ref, name) for name, body in resources.items()
                  for ref in references(body, names) if ref != name)


def _mermaid(shapes: list) -> str:
    lines = ["flowchart LR"]
    for stack, _, resources in shapes:
        if not resources:
            lines.append(f'  {_id(stack)}["{stack}"]')
            continue
        lines.append(f'  subgraph {_id(stack)}["{stack}"]')
        for name, body in sorted(resources.items()):
            kind = body.get("Type", "?") if isinstance(body, dict) else "?"
            lines.append(f'    {_id(stack, name)}["{name}<br/><small>{kind}</small>"]')
        lines += [f"    {_id(stack, a)} --> {_id(stack, b)}" for a, b in _edges(resources)]
        lines.append("  end")
    for stack, deps, _ in shapes:
        lines += [f"  {_id(dep)} ==> {_id(stack)}" for dep in deps]
    return "\n".join(lines) + "\n"


def _dot(shapes: list) -> str:
    lines = ["digraph stacks {", "  rankdir=LR; compound=true; node [shape=box];"]
    for stack, _, resources in shapes:
        lines.append(f'  subgraph cluster_{_id(stack)} {{ label="{stack}";')
        lines.append(f'    {_id(stack)} [label="{stack}", shape=folder];')
        for name, body in sorted(resources.items()):
            kind = body.get("Type", "?") if isinstance(body, dict) else "?"
            lines.append(f'    {_id(stack, name)} [label="{name}\\n{kind}"];')
        lines += [f"    {_id(stack, a)} -> {_id(stack, b)};" for a, b in _edges(resources)]
        lines.append("  }")
    for stack, deps, _ in shapes:
        lines += [f"  {_id(dep)} -> {_id(stack)} [style=bold];" for dep in deps]
    return "\n".join(lines + ["}"]) + "\n"
