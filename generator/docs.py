"""Documentation generated from the registry: the kinds table and each kind's fields."""

from __future__ import annotations

import dataclasses

from .errors import GeneratorError, did_you_mean
from .kinds import registry
from .spec import MISSING


def kinds_table(markdown: bool = False) -> str:
    kinds = registry()
    if markdown:
        rows = ["| kind | what it makes | fields (required in bold) |", "|---|---|---|"]
        for name, kind in kinds.items():
            fields = ", ".join(f"**{f.name}**" if f.default is MISSING else f.name
                               for f in dataclasses.fields(kind.spec))
            rows.append(f"| `{name}` | {kind.description} | {fields} |")
        return "\n".join(rows)
    width = max(len(n) for n in kinds)
    return "\n".join(f"{name:<{width}}  {kind.description}" for name, kind in kinds.items())


def kind_fields(name: str) -> str:
    kinds = registry()
    if name not in kinds:
        raise GeneratorError(f"no kind '{name}'; kinds: {', '.join(kinds)}"
                             + did_you_mean(name, kinds))
    kind = kinds[name]
    lines = [f"{name}: {kind.description}", ""]
    for f in dataclasses.fields(kind.spec):
        meta = f.metadata
        need = "required" if f.default is MISSING else f"default {f.default!r}"
        lines.append(f"  {f.name:<22} {meta['type'].expected} ({need})")
        lines.append(f"  {'':<22} {meta['doc']}")
    return "\n".join(lines)
