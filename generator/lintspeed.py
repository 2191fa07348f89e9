"""Three shortcuts inside cfn-lint that return what it would, for a third less CPU.

Profiling cfn-lint on our templates shows it spends about a third of its time per
template making again what it made before:

- Every JSON-schema rule makes a new validator *class* for each piece it checks
  (`BaseJsonSchema.extend_validator` → `create`, a dataclass built with `exec`, ~1 ms),
  although the rules only ever ask for a handful of distinct ones (8 for the whole
  project, 10 for cfn-lint's own test templates). Here a class is made once for each
  distinct set of keyword functions and function resolvers, and reused; each validator
  is still a fresh instance with the caller's schema, function filter, template, context
  and a resolver of its own, made in one step where cfn-lint made and threw away an
  intermediate one. One difference no code of cfn-lint 1.58.0 can see: a shared class's
  *default* function filter is its first caller's (every validator is made, and evolved,
  with its own filter passed explicitly).
- `Validator.evolve` and `Context.evolve` (each called tens of thousands of times a
  template) ask `dataclasses.fields()` for the init fields on every call; here they are
  listed once per class.

Nothing else changes: the same rules run in the same order on validators holding the
same values. The shortcuts apply to the whole process (a library user's own cfn-lint
calls too), and only to the cfn-lint version they were checked against (`VERIFIED`, the
version in requirements/app.lock); any other version runs untouched.
`tests/test_lintspeed.py` lints a corpus of broken templates with and without them and
compares every finding, and fails when the locked cfn-lint is not in `VERIFIED`, so
that an upgrade is checked again before it is trusted. Checked once more by hand: cfn-lint's
own 246 test templates in five regions, with identical findings.
"""

from __future__ import annotations

import types
from dataclasses import fields
from typing import Any

VERIFIED = frozenset({"1.58.0"})
MAX_CLASSES = 256           # distinct validator classes kept; beyond that, made each time

_saved: dict[tuple[Any, str], Any] = {}
_shared: dict[tuple, tuple] = {}          # key → (class, what keeps the key's ids alive)


def applicable() -> bool:
    from cfnlint.version import __version__

    return __version__ in VERIFIED


def active() -> bool:
    return bool(_saved)


def apply() -> bool:
    """Install the shortcuts (once); False, and nothing changed, on an unverified cfn-lint."""
    if _saved:
        return True
    if not applicable():
        return False
    from cfnlint.context.context import Context
    from cfnlint.jsonschema import validators
    from cfnlint.rules.jsonschema.Base import BaseJsonSchema

    try:
        _replace(BaseJsonSchema, "extend_validator", _shared_classes())
        _replace(validators, "create", _with_fast_evolve(validators.create))
        for cls in (validators.CfnTemplateValidator, validators.StandardValidator):
            _replace(cls, "evolve", _validator_evolve(cls))
        _replace(Context, "evolve", _context_evolve(Context))
    except BaseException:
        restore()                   # all or nothing
        raise
    return True


def restore() -> None:
    """Put cfn-lint's functions back (the tests compare both). Validator classes made
    meanwhile keep their faster `evolve`; only the shortcuts' own cache holds them."""
    for (owner, name), original in reversed(list(_saved.items())):
        setattr(owner, name, original)
    _saved.clear()
    _shared.clear()


def shared_classes() -> int:
    """How many validator classes the shortcuts made and share."""
    return len(_shared)


def _replace(owner: Any, name: str, new: Any) -> None:
    _saved[(owner, name)] = owner.__dict__[name] if isinstance(owner, type) \
        else getattr(owner, name)
    setattr(owner, name, new)


def _identity(value: Any) -> Any:
    """What tells two keyword functions apart: a bound method is made anew on every
    attribute lookup, so it is known by its object and function."""
    if isinstance(value, types.MethodType):
        return id(value.__self__), id(value.__func__)
    return id(value)


def _shared_classes():
    from cfnlint.schema.resolver import RefResolver

    def extend_validator(self, validator, schema, context, validators=None):
        wanted = {**validator.validators, **self._get_validators(), **(validators or {})}
        key = (tuple((k, _identity(v)) for k, v in wanted.items()),
               tuple((k, _identity(v)) for k, v in validator.fn_resolvers.items()))
        known = _shared.get(key)
        if known is None:
            # the functions are kept with the class, so no id in the key is reused
            known = (validator.extend(validators=wanted), wanted,
                     dict(validator.fn_resolvers))
            if len(_shared) < MAX_CLASSES:
                _shared[key] = known
        return known[0](schema=schema, function_filter=validator.function_filter,
                        cfn=validator.cfn, context=context,
                        resolver=RefResolver.from_schema(schema))

    return extend_validator


def _with_fast_evolve(create):
    def create_validator(*args, **kwargs):
        cls = create(*args, **kwargs)
        cls.evolve = _validator_evolve(cls)
        return cls

    return create_validator


def _init_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.init)


def _validator_evolve(cls: type):
    names = _init_names(cls)

    def evolve(self, **kwargs):
        for name in names:
            if name not in kwargs:
                kwargs[name] = getattr(self, name)
        return self.__class__(**kwargs)

    return evolve


def _context_evolve(cls: type):
    names = _init_names(cls)

    def evolve(self, **kwargs):
        if "ref_values" in kwargs:
            ref_values = self.ref_values.copy()
            ref_values.update(kwargs["ref_values"])
            kwargs["ref_values"] = ref_values
        for name in names:
            if name not in kwargs:
                kwargs[name] = getattr(self, name)
        return self.__class__(**kwargs)

    return evolve
