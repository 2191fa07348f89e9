"""Import only the part of sympy that cfn-lint uses; the rest when something asks for it.

cfn-lint reasons about template conditions with sympy's boolean logic (`And`, `Or`,
`Not`, `Implies`, `Equivalent`, `Symbol`, `Dummy`, `EncodedCNF`, `satisfiable`), but
`import sympy` runs sympy's `__init__`, which imports all of sympy (polynomials,
printing, matrices, special functions: ~420 modules). That is over half of cfn-lint's
import, ~0.15 s on the lint host's critical path of every cold synth.

`install()` puts a module named `sympy` in `sys.modules` before cfn-lint is imported:
it has sympy's own `__path__`, `__spec__` and loader, so `from sympy.logic.boolalg import
And` imports just that submodule and what it imports (~65 modules), and it holds the seven
names cfn-lint takes from the top level, the very objects sympy's `__init__` exports.
Once cfn-lint is imported, `seal()` makes that the part. From then on, the first time
anything asks for more (another name: `sympy.sqrt`, `__version__`, `__all__` for
`import *`, `dir()`; or another submodule, which sympy itself imports inside some of its
functions) sympy's real `__init__` first runs in this same module, so it becomes the
whole of sympy, each module executed once, in sympy's own order, and the submodule asked
for is the one that `__init__` imported. Only `vars(sympy)` sees the part as it is. A
completion that fails (a broken sympy install) raises where it was asked for, as `import
sympy` would have, and leaves the part in place.

The trade: a template with `Conditions` needs the whole of sympy as soon as cfn-lint
reads it (its solver builds `Equivalent`s), in whichever worker lints it, after the host
has forked its sibling. So a synth whose templates have conditions completes sympy once
in each worker (~0.13 s of CPU and ~26 MB of its own each, against ~0.17 s the host saves
once: about the same wall time on 2 cores); one whose templates have none, like every
template this project ships, never imports the rest.

Only for the lint host, a forked process of one thread (`install()` refuses when there
are others: completing is not guarded against a second thread), and only for sympy
versions checked against it (`VERIFIED`, the version in requirements/app.lock); a sympy
that is already imported is left alone. `tests/test_lazysympy.py` lints templates full
of conditions and asks cfn-lint's condition solver about each in two processes, with the
whole of sympy and with this part, and compares every answer; it also checks that the
part stays a part, and that asking for anything else completes it, once.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types

VERIFIED = frozenset({"1.14.0"})
EAGER = {"Symbol": "sympy.core.symbol", "Dummy": "sympy.core.symbol",
         "And": "sympy.logic.boolalg", "Or": "sympy.logic.boolalg",
         "Not": "sympy.logic.boolalg", "Implies": "sympy.logic.boolalg",
         "Equivalent": "sympy.logic.boolalg"}


class _Part(types.ModuleType):
    """sympy's package module before its `__init__` has run; completes on a miss."""

    def __getattr__(self, name: str):
        _complete(self)
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'sympy' has no attribute {name!r}") from None

    def __dir__(self) -> list[str]:
        _complete(self)
        return sorted(self.__dict__)


class _Finder:
    """On the first import of a sympy submodule the part does not hold (sympy imports
    some inside its functions, in an order that only works after its `__init__`), the
    whole of sympy first; then that submodule as the completion imported it, not a
    second copy."""

    @staticmethod
    def find_spec(name: str, path=None, target=None):
        module = sys.modules.get("sympy")
        if not name.startswith("sympy.") or type(module) is not _Part or _completing:
            return None
        _complete(module)
        if name not in sys.modules:
            return None                 # one sympy's __init__ does not import: as usual
        spec = importlib.util.spec_from_loader(name, _Imported(sys.modules[name]))
        # the import system takes the spec of a module already in sys.modules (it would
        # execute that module again): until `exec_module` puts the real one back, ours
        sys.modules[name].__spec__ = spec
        return spec


class _Imported:
    """Hands the import system a module the completion has just imported, unchanged."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module, self.spec = module, module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.spec     # the import system put its own there


_completing = False


def _complete(module: _Part) -> None:
    """Run sympy's `__init__` in `module`, once; a lookup made by that `__init__` itself
    (as on any module still being imported) just misses."""
    global _completing
    if type(module) is not _Part or _completing:
        return
    _completing = True
    try:
        module.__spec__.loader.exec_module(module)
        module.__class__ = types.ModuleType
        sys.meta_path[:] = [f for f in sys.meta_path if f is not _Finder]
    finally:
        _completing = False


def install() -> bool:
    """Put sympy's part in `sys.modules` (True; also when it is there already); False,
    and nothing changed, when the whole of sympy is imported already, or sympy is absent
    or not a checked version, or the process has threads."""
    if "sympy" in sys.modules:
        return isinstance(sys.modules["sympy"], _Part)
    if threading.active_count() > 1:
        return False
    spec = importlib.util.find_spec("sympy")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return False
    module = importlib.util.module_from_spec(spec)      # every attribute an import sets
    module.__class__ = _Part
    sys.modules["sympy"] = module
    try:
        from sympy.release import __version__

        if __version__ not in VERIFIED:
            raise ImportError(f"sympy {__version__} is not checked")
        for name, where in EAGER.items():
            setattr(module, name, getattr(importlib.import_module(where), name))
    except BaseException as error:
        for name in [n for n in sys.modules if n == "sympy" or n.startswith("sympy.")]:
            del sys.modules[name]
        if not isinstance(error, Exception):
            raise
        return False
    return True


def seal() -> None:
    """The part is what was imported until now: from here on, importing any other sympy
    submodule completes sympy first."""
    if partial() and _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)


def partial() -> bool:
    """Whether the `sympy` imported is still only the part."""
    return isinstance(sys.modules.get("sympy"), _Part)
