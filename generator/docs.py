"""Documentation generated from the registry: the kinds table, each kind's fields and
the referee checks kinds waive on purpose (the README's Security section)."""

from __future__ import annotations

import dataclasses

from .errors import GeneratorError, did_you_mean
from .kinds import registry
from .spec import MISSING


def kinds_table(markdown: bool = False) -> str:
    kinds = registry()
    if markdown:
        rows = ["| kind | what it makes | fields (required in bold) | access levels: IAM "
                "actions | `!GetAtt` (and what else it makes) |", "|---|---|---|---|---|"]
        for name, kind in kinds.items():
            fields = ", ".join(f"**{f.name}**" if f.default is MISSING else f.name
                               for f in dataclasses.fields(kind.spec))
            levels = "<br>".join(access_levels(kind))
            rows.append(f"| `{name}` | {kind.description} | {fields} | {levels} | "
                        f"{_attributes_cell(kind)} |")
        return "\n".join(rows)
    width = max(len(n) for n in kinds)
    return "\n".join(f"{name:<{width}}  {kind.description}" for name, kind in kinds.items())


def _attributes_cell(kind) -> str:
    if kind.attributes is None:
        return "any attribute of its type"
    cells = [", ".join(sorted(kind.attributes)) or "-"]
    cells += [f"`<Name>{suffix}`: {', '.join(sorted(attributes)) or 'Ref'}"
              for suffix, attributes in sorted(kind.parts.items())]
    return "<br>".join(cells)


def access_levels(kind) -> list[str]:
    """`level`: its exact IAM actions, the kind's own then per ARN attribute."""
    lines = [f"`{level}`: {', '.join(actions)}" for level, actions in
             kind.access_levels.items()]
    for attribute, levels in kind.attribute_access.items():
        lines += [f"`{level}` on `{attribute}`: {', '.join(actions)}"
                  for level, actions in levels.items()]
    return lines


def waivers_table() -> str:
    """Every checkov check a kind waives, on which of its resources, and why (Markdown)."""
    rows = ["| kind | resource | check | why it is not met | met instead when set |",
            "|---|---|---|---|---|"]
    for name, kind in registry().items():
        for waiver in kind.waivers:
            unless = f"`{waiver.unless}`" if waiver.unless else ""
            rows.append(f"| `{name}` | `<Name>{waiver.part}` | {waiver.check} | "
                        f"{waiver.reason} | {unless} |")
    return "\n".join(rows)


def star_only_table() -> str:
    """The actions the policy guard lets an identity policy allow on `Resource: '*'`."""
    from .policyguard import STAR_ONLY

    rows = ["| action | why only `*` |", "|---|---|"]
    rows += [f"| `{action}` | {reason} |" for action, reason in sorted(STAR_ONLY.items())]
    return "\n".join(rows)


def protections_table() -> str:
    """The settings whose change the deployer lists as a security change (Markdown)."""
    from .deploy.security import PROTECTIONS, REMOVAL_WEAKENS

    rows = ["| resource type | settings whose change needs consent |", "|---|---|"]
    for kind, settings in sorted(PROTECTIONS.items()):
        listed = "; ".join(f"{what} (`{'.'.join(path)}`)" for path, what in settings)
        rows.append(f"| `{kind}` | {listed} |")
    for kind in sorted(REMOVAL_WEAKENS):
        rows.append(f"| `{kind}` | removing it |")
    return "\n".join(rows)


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
    levels = access_levels(kind)
    if levels:
        lines += ["", "access levels (for `access:` entries naming it):"]
        lines += [f"  {line.replace('`', '')}" for line in levels]
    return "\n".join(lines + _references(kind) + BUILT_INS)


BUILT_INS = ["", "values every stage file can use: {{ env }}, {{ app }}, {{ region }} and "
                 "its environment's values: (app.yaml); !Output <stage>.<Name> for another "
                 "stage's outputs"]


def _references(kind) -> list[str]:
    """What other resources may reference: `!GetAtt` attributes of the resource and of
    the extra resources the kind makes (by their logical ids)."""
    if kind.attributes is None:
        return ["", "references: !Ref <Name>; !GetAtt <Name>.<any attribute of its type>"]
    lines = ["", "references:", "  !Ref <Name>"]
    lines += [f"  !GetAtt <Name>.{a}" for a in sorted(kind.attributes)]
    for suffix, attributes in sorted(kind.parts.items()):
        made = f"<Name>{suffix}"
        lines.append(f"  it also makes {made}: !Ref {made}"
                     + "".join(f", !GetAtt {made}.{a}" for a in sorted(attributes)))
    return lines
