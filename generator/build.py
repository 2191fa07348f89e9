"""The synth pipeline: load → build → dump → lint → write, all or nothing.

Everything is computed in memory first; `build/` is only touched once every blueprint
loaded, built and linted without an error. Files are replaced one by one atomically and
only when their bytes change; files of removed stages (and apps) disappear.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import pickle
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from . import parallel
from .assets import Asset
from .dump import to_json, to_yaml
from .encode import template_dict
from .errors import BlueprintError, Mark, Problem, Problems, did_you_mean
from .inputs import inputs_hash
from .lint import CACHE_PATH, Finding, Linter, LintJob
from .model import App, discover, load_app, load_app_spec, value_origins
from .paths import no_links, one_look
from .refs import parse_output
from .source import Tag
from .synth import build_stage, guard, origins
from .synthwarnings import app_warnings

MANIFEST_FORMAT = 1
SCHEMA_PATH = "build/schema/blueprint.schema.json"


@dataclass(frozen=True)
class StackArtifact:
    """One synthesized stack: its template bytes and what the manifest says of it."""

    app: str
    env: str
    stage_name: str
    path: str
    text: bytes
    resources: int
    manifest_entry: dict
    sources: dict


@dataclass
class SynthResult:
    """What a synth made, in memory: every file by project-relative path (`files`),
    the stacks, cfn-lint's warnings; `written`/`removed` when build/ was updated."""

    stacks: list[StackArtifact] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    assets: list[Asset] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    cache_hits: int = 0
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def templates(self) -> dict[str, str]:
        """Each template's YAML text, by path (build/<env>/<app>/NN-<stage>.yaml)."""
        return {s.path: s.text.decode("utf-8") for s in self.stacks}

    @property
    def manifests(self) -> dict[str, dict]:
        """Each app's manifest (stacks, dependencies, parameter wiring), by path."""
        import json

        return {path: json.loads(data) for path, data in self.files.items()
                if path.endswith("/manifest.json")}


class LintFailed(BlueprintError):
    """cfn-lint errors, each on the blueprint line it comes from (template position too)."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__([_problem(f) for f in findings if f.is_error])


def _problem(finding: Finding) -> Problem:
    said = f"{finding.message} (cfn-lint {finding.rule})"
    at = f"{finding.template}:{finding.line}:{finding.col}"
    if finding.source is None:
        return Problem(Mark(finding.template, finding.line, finding.col), "", said)
    return Problem(finding.source, finding.key, f"{said} [template {at}]")


def load_apps(root: str, envs: list[str] | None, apps: list[str] | None) -> list[App]:
    """Every selected app in every selected environment, checked (with the project's
    plugin kinds, when its pyproject.toml declares some)."""
    problems, loaded, seen_envs = Problems(), [], set()
    for app_dir in app_folders(root, apps):
        environments, apps_loaded, found = _load(root, app_dir, envs)
        seen_envs.update(environments)
        loaded += apps_loaded
        problems.items += found
    _check_envs(envs, seen_envs, problems)
    problems.check()
    return loaded


def app_folders(root: str, apps: list[str] | None) -> list[str]:
    """The selected app folders under blueprints/ (all by default), plugin kinds active."""
    from .plugins import activate

    available = discover(root)
    activate(root)
    problems = Problems()
    for name in apps or []:
        if name not in available:
            problems.add(None, "", f"no app '{name}' under blueprints/; apps: "
                         f"{', '.join(available) or 'none'}" + did_you_mean(name, available))
    problems.check()
    return list(apps or available)


def _load(root: str, app_dir: str, envs: list[str] | None
          ) -> tuple[list[str], list[App], list[Problem]]:
    """One app in each selected environment: (the environments it defines, the apps
    loaded, the problems found)."""
    try:
        spec, node = load_app_spec(root, app_dir)
    except BlueprintError as exc:
        return [], [], exc.problems
    loaded = []
    for env in spec.environments:
        if not envs or env in envs:
            try:
                loaded.append(load_app(root, app_dir, env, spec))
            except BlueprintError as exc:
                # the next environment would say the same again
                return list(spec.environments), loaded, value_origins(exc.problems, root,
                                                                      node, env)
    return list(spec.environments), loaded, []


def _check_envs(envs: list[str] | None, seen: set[str], problems: Problems) -> None:
    for env in envs or []:
        if env not in seen and not problems:
            problems.add(None, "", f"no app defines environment '{env}'; environments: "
                         f"{', '.join(sorted(seen))}" + did_you_mean(env, seen))


@contextmanager
def _without_gc():
    """A synth makes many short-lived objects and few cycles; the cyclic collector
    only slows it down (by about a fifth with cfn-lint). Memory is freed as usual.

    Everything made meanwhile sits in the youngest generation, so the first collection
    after it would scan all of it (~0.1 s after a cold synth): freezing and unfreezing
    moves it to the oldest generation at once, where it waits for a full collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def synth(root: str, envs: list[str] | None = None, apps: list[str] | None = None,
          run_lint: bool = True, cache_path: str | None = CACHE_PATH,
          write: bool = True, progress: Callable[[int, int], None] | None = None,
          linter: Linter | None = None, helper: bool | None = None) -> SynthResult:
    """Blueprints → templates, manifests and schema; written only if all is valid.
    `progress(done, total)` is called as apps are built (a progress bar). `linter`:
    one whose workers were started already (the command line does, before its imports);
    by default one on `cache_path`, started at once when its cache is empty. `helper`:
    whether a forked process builds some of the apps (`parallel`); by default it does
    when there are two cores and no lint workers have started (they use the second)."""
    if not run_lint:
        linter = None
    elif linter is None:
        linter = Linter.cold_start(os.path.join(root, cache_path) if cache_path else None)
    if helper is None:
        helper = parallel.can_fork() and not (linter and linter.pool.host)
    with _without_gc(), one_look(), linter or nullcontext():
        return _synth(root, envs, apps, linter, write, progress, helper)


@dataclass
class AppOutcome:
    """What one app made in each selected environment. It may be made in the helper
    process, so it holds only what pickles (names, not the loaded App); the helper never
    sends one with a `crash` (that app is made again here, to raise it from here)."""

    environments: list[str] = field(default_factory=list)
    stacks: list[StackArtifact] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    assets: list[Asset] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    load_problems: list[Problem] = field(default_factory=list)
    build_problems: list[Problem] = field(default_factory=list)
    crash: Exception | None = None      # raised while loading (crashed_loading) or building
    crashed_loading: bool = False

    def __getstate__(self) -> dict:
        if self.crash is not None:          # the helper then says it failed on this app
            raise pickle.PicklingError("an app that crashed is made again by the synth")
        return self.__dict__


class _Ticked(BaseException):
    """What `tick` raised (a lint worker died, Ctrl-C): not the app's, so not kept."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


def make_app(root: str, app_dir: str, envs: list[str] | None,
             tick: Callable[[], None] | None = None) -> AppOutcome:
    """Load and build one app in each selected environment; `tick()` between stages.
    What goes wrong is kept in the outcome, to be reported in the order a synth of one
    app after the other would meet it (`_report`)."""
    made = AppOutcome()
    try:
        made.environments, loaded, made.load_problems = _load(root, app_dir, envs)
    except Exception as exc:                # noqa: BLE001 — raised by `_report`, in order
        made.crash, made.crashed_loading = exc, True
        return made

    def ticking() -> None:
        try:
            tick()
        except BaseException as exc:        # noqa: BLE001 — raised again below, unchanged
            raise _Ticked(exc) from None

    problems = Problems()
    try:
        for app in loaded:
            _build_app(root, app, problems, made, ticking if tick else None)
    except _Ticked as ticked:
        raise ticked.error from None
    except Exception as exc:                # noqa: BLE001 — raised by `_report`, in order
        made.crash = exc
    made.build_problems = problems.items
    return made


def _report(made: list[AppOutcome], envs: list[str] | None) -> None:
    """Raise what went wrong as a synth loading every app, then building each, would:
    an internal error while loading, every load problem, an unknown environment, an
    internal error while building, every build problem."""
    for outcome in made:
        if outcome.crash and outcome.crashed_loading:
            raise outcome.crash
    problems = Problems()
    for outcome in made:
        problems.items += outcome.load_problems
    _check_envs(envs, {env for outcome in made for env in outcome.environments}, problems)
    problems.check()
    for outcome in made:
        if outcome.crash:
            raise outcome.crash
    for outcome in made:
        problems.items += outcome.build_problems
    problems.check()


def _synth(root: str, envs: list[str] | None, apps: list[str] | None,
           linter: Linter | None, write: bool, progress, helper: bool) -> SynthResult:
    started = time.perf_counter()
    result = SynthResult()
    made: list[AppOutcome] = []
    asset_keys: set[str] = set()
    folders = app_folders(root, apps)

    failing = False

    def merge(index: int, outcome: AppOutcome) -> None:
        nonlocal failing
        made.append(outcome)
        failing = failing or bool(outcome.crash or outcome.load_problems
                                  or outcome.build_problems)
        for stack in outcome.stacks:
            result.stacks.append(stack)
            if linter and not failing:              # no lint for a synth that will fail
                linter.offer(LintJob(stack.path, stack.text, stack.manifest_entry["region"],
                                     stack.sources))
        result.files.update(outcome.files)
        result.assets += [a for a in outcome.assets if a.key not in asset_keys]
        asset_keys.update(a.key for a in outcome.assets)
        result.findings += outcome.findings
        if progress:
            progress(index + 1, len(folders))

    parallel.run(len(folders), lambda index, tick: make_app(root, folders[index], envs, tick),
                 merge, linter.pump if linter else None, helper)
    _report(made, envs)
    from .jsonschema import blueprint_schema

    result.files[SCHEMA_PATH] = to_json(blueprint_schema())
    if linter:
        found, result.cache_hits = linter.finish(full=not envs and not apps)
        result.findings += found
        if any(f.is_error for f in result.findings):
            raise LintFailed(result.findings)
    if write:
        _write(root, result, full=not envs and not apps)
    result.seconds = time.perf_counter() - started
    return result


def _build_app(root: str, app: App, problems: Problems, made: AppOutcome,
               tick: Callable[[], None] | None) -> None:
    folder = f"build/{app.env.name}/{app.name}"
    entries = []
    for stage_name in app.order:
        stage = app.stages[stage_name]
        before = len(problems.items)
        if tick:
            tick()
        builder = build_stage(root, app, stage, problems)
        if len(problems.items) > before:
            continue
        template = template_dict(builder.template)
        text = to_yaml(template)
        if not guard(builder, template, text):
            continue
        entry = _manifest_entry(app, stage, builder, text)
        entries.append(entry)
        path = f"{folder}/{stage.template_name}"
        made.stacks.append(StackArtifact(app.name, app.env.name, stage_name, path, text,
                                         len(template.get("Resources", {})), entry,
                                         origins(builder.sources)))
        made.files[path] = text
        for asset in builder.assets:
            if asset.key not in {a.key for a in made.assets}:
                made.assets.append(asset)
    made.findings += app_warnings(app, lambda stage: f"{folder}/{stage.template_name}")
    made.files[f"{folder}/manifest.json"] = to_json({
        "format": MANIFEST_FORMAT, "app": app.name, "env": app.env.name,
        "inputs_sha256": inputs_hash(root, app.name),
        "region": app.env.region, "account": app.env.account, "tags": app.tags,
        **({"local_only": True} if app.env.local_only else {}), "stacks": entries})


def _manifest_entry(app: App, stage, builder, text: bytes) -> dict:
    parameters = {name: wiring.source for name, wiring in builder.wiring.items()}
    return {
        "stage": stage.name, "stack_name": stage.stack_name,
        "template": stage.template_name, "region": stage.region,
        "depends_on": sorted(f"{app.name}-{app.env.name}-{d}" for d in app.edges[stage.name]),
        "parameters": parameters,
        "template_sha256": hashlib.sha256(text).hexdigest(),
        "assets": [{"key": a.key, "sha256": a.sha256,
                    "file": f"build/assets/{a.file_name}"} for a in builder.assets],
        "data_holding": sorted(r.logical_id for r in stage.resources.values()
                               if r.kind.data_holding
                               or getattr(r.spec, "data_holding", False)),
        "after_deploy": [_step(app, name, spec) for name, spec in stage.after_deploy],
    }


def _step(app: App, name: str, spec) -> dict:
    """A step for the manifest: !Output values become {"stack", "output"} references."""
    def plain(value):
        if isinstance(value, Tag):
            stage, output = parse_output(value)
            return {"stack": f"{app.name}-{app.env.name}-{stage}", "output": output}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in sorted(value.items())}
        return value

    fields = {f.name: plain(getattr(spec, f.name)) for f in dataclasses.fields(spec)}
    return {name: {k: v for k, v in fields.items() if v is not None}}


def _write(root: str, result: SynthResult, full: bool) -> None:
    files = dict(result.files)
    for asset in result.assets:
        files[f"build/assets/{asset.file_name}"] = asset.data
    produced_dirs = {os.path.dirname(p) for p in result.files if p.endswith("manifest.json")}
    for folder in sorted({os.path.dirname(p) for p in files} | produced_dirs
                         | (_app_dirs(root) if full else set())):
        no_links(root, folder)      # before anything is written: all or nothing
    for path, data in sorted(files.items()):
        if _write_if_changed(os.path.join(root, path), data):
            result.written.append(path)
    for folder in sorted(produced_dirs):
        for name in sorted(os.listdir(os.path.join(root, folder))):
            path = f"{folder}/{name}"
            if path not in files and name.endswith((".yaml", ".json")):
                os.remove(os.path.join(root, path))
                result.removed.append(path)
    if full:
        result.removed += _remove_stale_apps(root, produced_dirs)


def _app_dirs(root: str) -> set[str]:
    """build/<env>/<app> folders there are now (links included, to be refused)."""
    build = os.path.join(root, "build")
    found = set()
    for env in os.listdir(build) if os.path.isdir(build) else []:
        found.add(f"build/{env}")
        env_dir = os.path.join(build, env)
        for app in os.listdir(env_dir) if os.path.isdir(env_dir) else []:
            found.add(f"build/{env}/{app}")
    return found


def _remove_stale_apps(root: str, produced: set[str]) -> list[str]:
    removed = []
    build = os.path.join(root, "build")
    for env in sorted(os.listdir(build)) if os.path.isdir(build) else []:
        env_dir = os.path.join(build, env)
        for app in sorted(os.listdir(env_dir)) if os.path.isdir(env_dir) else []:
            folder = f"build/{env}/{app}"
            if folder not in produced and \
                    os.path.isfile(os.path.join(root, folder, "manifest.json")):
                for name in sorted(os.listdir(os.path.join(root, folder))):
                    if name.endswith((".yaml", ".json")):
                        os.remove(os.path.join(root, folder, name))
                        removed.append(f"{folder}/{name}")
                _remove_empty(os.path.join(root, folder))
    return removed


def _remove_empty(folder: str) -> None:
    for path in (folder, os.path.dirname(folder)):
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)


def _write_if_changed(path: str, data: bytes) -> bool:
    try:
        if not os.path.islink(path):
            with open(path, "rb") as handle:
                if handle.read() == data:
                    return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
    return True


