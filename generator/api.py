"""The public API: everything the command line does, as functions returning data.

The CLI (`cli.py`, `deploy/commands.py`) parses arguments and prints; the work is done
here, so a script, a test or another tool gets the same checks and the same results:

    load ──▶ synthesize (in memory, or to build/) ──▶ plan / apply (deploy, from build/)

(`synthesize`, `lint_templates` and `apply` are not called synth, lint and deploy because
those are the names of the package's own modules: `generator.deploy` is the deployer.)

Blueprints can come from a project folder or from memory (`files=`: a mapping of
project-relative paths to text, bytes or plain data). In-memory files are written to a
private temporary folder and go through exactly the same loader, so every check that
guards a folder (paths stay inside the project, sandboxed rendering) guards them too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

from .build import SynthResult
from .lint import Finding, Linter
from .model import App

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
Files = Mapping[str, "str | bytes | Mapping[str, Any]"]


@contextmanager
def project_from(files: Files) -> Iterator[str]:
    """A temporary project folder holding `files`; removed on leaving the block.

    Keys are paths inside the project (`blueprints/shop/app.yaml`,
    `lambda_code/shop_api/handler.py`); values are text, bytes, or a mapping written as
    YAML (tags such as `!Output` need text)."""
    with tempfile.TemporaryDirectory(prefix="generator-") as root:
        for path, content in files.items():
            _write_file(root, path, content)
        yield root


def _write_file(root: str, path: str, content: Any) -> None:
    parts = path.replace("\\", "/").split("/")
    if path.startswith("/") or ".." in parts:
        raise ValueError(f"{path}: give a path inside the project (no leading / or ..)")
    target = os.path.join(root, *parts)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if isinstance(content, Mapping):
        content = yaml.safe_dump(_plain(content), sort_keys=False)
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    with open(target, "wb") as handle:
        handle.write(data)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load(root: str = ".", envs: list[str] | None = None, apps: list[str] | None = None,
         *, files: Files | None = None) -> list[App]:
    """Load and validate blueprints: one checked `App` per app and environment.

    Raises `BlueprintError` (its `.problems` name file:line:column) on any mistake."""
    from .build import load_apps

    if files is not None:
        with project_from(files) as temporary:
            return load(temporary, envs, apps)
    return load_apps(root, envs, apps)


def synthesize(root: str = ".", envs: list[str] | None = None, apps: list[str] | None = None,
          *, lint: bool | Linter = True, write: bool = False, files: Files | None = None,
          progress=None) -> SynthResult:
    """Blueprints → templates, manifests and the editor schema.

    In memory by default (`result.files`, `result.templates`, `result.manifests`);
    `write=True` updates build/ as `make synth` does (only when everything is valid).
    `progress(done, total)` is called as apps are built. `lint` may also be a
    `generator.lint.Linter` whose workers were started already (`Linter.cold_start`, as
    the command line does before it imports the builders). Raises `BlueprintError` for
    invalid blueprints and `LintFailed` for lint errors."""
    from .build import synth as run_synth

    if files is not None:
        if write:
            raise ValueError("write=True needs a project folder; in-memory files are "
                             "synthesized to memory only (read result.files)")
        with project_from(files) as temporary:
            return synthesize(temporary, envs, apps, lint=lint, progress=progress)
    return run_synth(root, envs, apps, run_lint=bool(lint), write=write, progress=progress,
                     linter=lint if isinstance(lint, Linter) else None)


def lint_templates(root: str = ".", envs: list[str] | None = None, apps: list[str] | None = None,
         *, files: Files | None = None) -> list[Finding]:
    """cfn-lint's findings (warnings; errors raise `LintFailed`) for the templates."""
    return synthesize(root, envs, apps, files=files).findings


@dataclass(frozen=True)
class Target:
    """Where plan and deploy go: AWS (endpoint None) or the local cloud's URL."""

    env: str = "dev"
    apps: tuple[str, ...] | None = None
    stages: tuple[str, ...] | None = None
    endpoint: str | None = None


def plan(root: str = ".", env: str = "dev", apps: list[str] | None = None, *,
         local: bool = False, endpoint: str | None = None, out: Any = None):
    """What a deploy would change, changing nothing: an `Outcome` (results per stack,
    `.markdown` lines for a pull request, `.exit_code`). Works from build/."""
    from .deploy.runner import Options

    target = _target(env, apps, None, local, endpoint)
    return run(root, target, Options(plan_only=True, lock=True), out)[0]


def apply(root: str = ".", env: str = "dev", apps: list[str] | None = None, *,
           stages: list[str] | None = None, yes: bool = False,
           allow_replace: tuple[str, ...] = (), parallel: int = 4,
           lock_timeout: float = 0.0, local: bool = False, endpoint: str | None = None,
           out: Any = None, ask=None):
    """Deploy build/ in dependency order with change sets, as `generator deploy` does.

    Without `yes`, changes are executed only when `ask` (a function taking the question
    and returning the answer) says yes; data-loss gates need `allow_replace`. Returns the
    `Outcome`: `.results`, `.outputs`, `.failures`, `.exit_code` (see `deploy --help`)."""
    from .deploy.runner import Options

    options = Options(yes=yes, interactive=ask is not None and not yes,
                      allow_replace=frozenset(allow_replace), parallel=parallel, lock=True,
                      lock_timeout=lock_timeout, command="deploy")
    target = _target(env, apps, stages, local, endpoint)
    return run(root, target, options, out, ask)[0]


def outputs(root: str = ".", env: str = "dev", apps: list[str] | None = None, *,
            local: bool = False, endpoint: str | None = None) -> dict[str, dict]:
    """Each deployed stack's outputs: {stack: {name: value}}, stacks not deployed left
    out. On the local cloud, URLs are rewritten to ones this machine can call."""
    from .deploy.cloud import Cloud
    from .deploy.cloud import Target as CloudTarget
    from .deploy.manifest import refuse_local_only

    endpoint = endpoint or (LOCAL_ENDPOINT if local else None)
    if endpoint:
        target = CloudTarget.local_cloud(endpoint)
        target.check_answers()
    else:
        refuse_local_only(root, env)
        target = CloudTarget()
    return deployed_outputs(root, Cloud(target), env, apps)


def deployed_outputs(root: str, cloud, env: str, apps: list[str] | None) -> dict[str, dict]:
    """`outputs` with a cloud already made (the CLI's, with its fault handling)."""
    from .deploy.localurls import local_outputs
    from .deploy.manifest import load_stacks

    found = {}
    for spec in load_stacks(root, env, apps):
        state = cloud.stack(spec.name, spec.region)
        if state is None:
            continue
        values = state.outputs
        if cloud.target.local:
            values = local_outputs(cloud, spec.name, spec.region, values)
        found[spec.name] = dict(sorted(values.items()))
    return found


def _target(env: str, apps, stages, local: bool, endpoint: str | None) -> Target:
    return Target(env, tuple(apps) if apps else None, tuple(stages) if stages else None,
                  endpoint or (LOCAL_ENDPOINT if local else None))


def run(root: str, target: Target, options, out: Any = None, ask=None, console=None):
    """Plan or deploy (per `options`); returns (outcome, deployer, stacks). The deployer
    is returned for the CLI's summary (its write calls) and pruning; `console` shows
    progress (default: plain lines to `out`)."""
    from .deploy.afterdeploy import run_steps
    from .deploy.cloud import Cloud
    from .deploy.cloud import Target as CloudTarget
    from .deploy.manifest import check_fresh, load_stacks, refuse_local_only
    from .deploy.runner import Console, Deployer

    if target.endpoint:
        cloud = Cloud(CloudTarget.local_cloud(target.endpoint))
    else:
        refuse_local_only(root, target.env)
        cloud = Cloud(CloudTarget())
    stacks = load_stacks(root, target.env, list(target.apps or []) or None,
                         list(target.stages or []) or None)
    check_fresh(root, stacks)
    cloud.target.check_answers()
    console = console or Console(out, ask)
    deployer = Deployer(root, cloud, console, options, run_steps)
    with console:
        outcome = deployer.run(stacks)
    return outcome, deployer, stacks
