"""Blueprint YAML → reviewable, linted CloudFormation, deployed with change sets.

The public API (what the command line is built on; see README "Use as a library"):

    import generator

    result = generator.synthesize("path/to/project")     # in memory; write=True: build/
    result.templates["build/dev/shop/01-table.yaml"]      # YAML text
    generator.synthesize(files={"blueprints/shop/app.yaml": "...", ...})  # no folder
    outcome = generator.plan("path/to/project", "dev", local=True)
    outcome.results, outcome.markdown, outcome.exit_code
    generator.apply("path/to/project", "dev", local=True, yes=True)   # deploy
    generator.outputs("path/to/project", "dev", local=True)  # {stack: {output: value}}

Errors a user can cause are `GeneratorError`s; invalid blueprints raise `BlueprintError`
whose `.problems` each name file:line:column. Names are imported on first use, so
`import generator` stays cheap for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "load": "api", "synthesize": "api", "lint_templates": "api", "plan": "api",
    "apply": "api", "outputs": "api",
    "project_from": "api", "init": "scaffold",
    "SynthResult": "build", "StackArtifact": "build", "LintFailed": "build",
    "Finding": "lint", "App": "model",
    "GeneratorError": "errors", "BlueprintError": "errors", "Problem": "errors",
    "Kind": "kinds", "Waiver": "kinds", "registry": "kinds", "field": "spec",
    "Outcome": "deploy.runner",
}
__all__ = [
    "App", "BlueprintError", "Finding", "GeneratorError", "Kind", "LintFailed", "Outcome",
    "Problem", "StackArtifact", "SynthResult", "Waiver", "__version__", "apply", "field",
    "init", "lint_templates", "load", "outputs", "plan", "project_from", "registry", "synthesize",
]

if TYPE_CHECKING:  # for type checkers and editors; at run time names load lazily
    from .api import apply, lint_templates, load, outputs, plan, project_from, synthesize
    from .build import LintFailed, StackArtifact, SynthResult
    from .deploy.runner import Outcome
    from .errors import BlueprintError, GeneratorError, Problem
    from .kinds import Kind, Waiver, registry
    from .lint import Finding
    from .model import App
    from .scaffold import init
    from .spec import field


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'generator' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
