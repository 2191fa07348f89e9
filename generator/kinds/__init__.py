"""The registry of resource kinds.

A kind is one module in this package defining `KIND = Kind(...)`: its spec (a frozen
dataclass of `spec.field`s), its builder, and what others may reference of it. Adding a
kind means adding one module here; nothing else changes. The registry discovers the
modules in name order, so the set of kinds and their order never depend on the machine.
Plugin kinds (a project's own, or from installed packages: `generator/plugins.py`) join
them through `use_plugins`, and from then on are indistinguishable from built-in ones.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

ANY_ATTRIBUTE = None


@dataclass(frozen=True)
class Waiver:
    """A referee's check that a kind's resource does not meet on purpose, and why.

    The builder writes it into the generated resource's `Metadata` (`checkov: skip`), so
    the template itself carries a reason a reviewer can judge, and the README's Security
    section lists it (generated from the kinds).
    """

    check: str  # the checkov id, e.g. CKV_AWS_117
    part: str  # the resource: "" is the kind's main one, else its logical-id suffix
    reason: str  # one line
    # A spec field that meets the check when set: then the resource is not waived.
    unless: str | None = None


@dataclass(frozen=True)
class Kind:
    """A resource kind: what a blueprint may declare and how it becomes CloudFormation."""

    name: str
    description: str
    spec: type
    build: Callable[..., None]
    # `!GetAtt <Id>.<attr>` attributes of the main resource (None: anything, for `raw`).
    attributes: frozenset[str] | None = frozenset()
    # Extra resources a builder makes, by logical id suffix, with their attributes:
    # e.g. a function's "Role" is referenceable as `!GetAtt ApplyRole.Arn`.
    parts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The IAM service prefix and access levels an `access:` entry may name for it.
    service: str | None = None
    access_levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # ARNs one action of an access grant covers, given the resource's ARN value: e.g. a
    # table's indexes for Query and Scan only, a bucket's objects for object actions.
    access_arns: Callable[[Any, str], list] | None = None
    # Access levels of another ARN attribute (`!GetAtt T.StreamArn`), replacing the
    # kind's own levels when that attribute is what an access entry names.
    attribute_access: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=dict)
    # Holds data that a replacement or deletion would lose.
    data_holding: bool = False
    # Referee checks its resources do not meet on purpose (see Waiver).
    waivers: tuple[Waiver, ...] = ()

    def skips(self, spec: Any, part: str) -> list[dict[str, str]]:
        """checkov's `skip` entries for one of its resources, in declaration order."""
        return [{"id": w.check, "comment": w.reason} for w in self.waivers
                if w.part == part and not (w.unless and _is_set(getattr(spec, w.unless)))]


def _is_set(value: Any) -> bool:
    return value is not None and value is not False and value != ()


_plugins: dict[str, Kind] = {}
_merged: dict[str, Kind] | None = None


def registry() -> dict[str, Kind]:
    """All kinds in use, built-in and plugin, by name."""
    global _merged
    if _merged is None:
        _merged = dict(sorted({**builtin(), **_plugins}.items()))
    return _merged


def use_plugins(kinds: dict[str, Kind]) -> None:
    """Make these plugin kinds (already checked for clashes) part of the registry."""
    global _plugins, _merged
    _plugins, _merged = dict(kinds), None


@cache
def builtin() -> dict[str, Kind]:
    """The kinds shipped in this package, by name."""
    kinds: dict[str, Kind] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "KIND", None)
        if isinstance(kind, Kind):
            if kind.name in kinds:
                raise RuntimeError(f"two kinds are named {kind.name!r}")
            kinds[kind.name] = kind
    return dict(sorted(kinds.items()))
