"""Load: blueprint files → a checked model of apps, environments, stages and resources.

`blueprints/<app>/app.yaml` declares the app and its environments; each
`blueprints/<app>/NN-<stage>.yaml` is one stage (one stack per environment), rendered
with the environment's values. Every resource is validated against the spec of its kind,
and every reference (`!Ref`, `!GetAtt`, `!Sub`, `!Output`) is resolved here, so the build
step only ever sees a consistent model. All problems are collected and raised together.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from typing import Any

from .errors import BlueprintError, GeneratorError, Mark, Problem, Problems, did_you_mean
from .kinds import Kind, registry
from .paths import PathError, read_text
from .source import Map, Seq, load_file
from .spec import Anything, At, Bool, Int, ListOf, MapOf, Str, Struct, Type, Value, field, shown
from .steps import StepType

FORMAT_VERSION = 1
STAGE_FILE = re.compile(r"(\d\d)-([a-z][a-z0-9-]*)\.yaml")
LOGICAL_ID = Str(r"[A-Za-z][A-Za-z0-9]{0,200}", "a logical id of letters and digits")


class _Region(Str):
    """A region AWS has: checked here, so lint and deploy never meet an unknown one."""

    def check(self, value: Any, at: At) -> Any:
        region = super().check(value, at)
        if region is not None and region not in known_regions(region):
            at.error(f"unknown region {region!r}" + (did_you_mean(region, known_regions())
                                                      or "; e.g. eu-west-1, us-east-1"))
            return None
        return region


# The regions of botocore's endpoint data when this was written; a newer botocore's
# list is read only for a region not in it (reading it costs ~60 ms).
_REGION_NAMES = """af-south-1 ap-east-1 ap-east-2 ap-northeast-1 ap-northeast-2
ap-northeast-3 ap-south-1 ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3
ap-southeast-4 ap-southeast-5 ap-southeast-6 ap-southeast-7 ca-central-1 ca-west-1
cn-north-1 cn-northwest-1 eu-central-1 eu-central-2 eu-isoe-west-1 eu-north-1 eu-south-1
eu-south-2 eu-west-1 eu-west-2 eu-west-3 eusc-de-east-1 il-central-1 me-central-1
me-south-1 mx-central-1 sa-east-1 us-east-1 us-east-2 us-gov-east-1 us-gov-west-1
us-iso-east-1 us-iso-west-1 us-isob-east-1 us-isob-west-1 us-isof-east-1 us-isof-south-1
us-west-1 us-west-2"""
REGIONS = frozenset(_REGION_NAMES.split())


def known_regions(region: str | None = None) -> frozenset[str]:
    return REGIONS if region in REGIONS else _botocore_regions()


@functools.cache
def _botocore_regions() -> frozenset[str]:
    import botocore

    path = os.path.join(os.path.dirname(botocore.__file__), "data", "endpoints.json")
    with open(path, encoding="utf-8") as handle:
        partitions = json.load(handle)["partitions"]
    return REGIONS | {r for partition in partitions for r in partition["regions"]}


REGION = _Region(r"[a-z]{2,4}(-gov|-iso[a-z]*)?-[a-z]+-\d", "an AWS region such as eu-west-1")
NAME = r"[a-z][a-z0-9-]{0,30}"
COMMON_KEYS = ("kind", "depends_on")


@dataclass(frozen=True)
class EnvironmentSpec:
    region: str = field(REGION, "the region the app's stages deploy to")
    account: str | None = field(Str(r"\d{12}", "a 12-digit AWS account id"),
                                "the AWS account this environment must deploy to", None)
    values: dict = field(MapOf(Anything()),
                         "values for {{ name }} in the stage files (e.g. domain)", None)
    local_only: bool = field(Bool(), "deploy only to the local cloud, never to AWS "
                                     "(for an environment with open test settings)", False)


@dataclass(frozen=True)
class AppSpec:
    version: int = field(Int(1, FORMAT_VERSION), "blueprint format version (1)")
    name: str = field(Str(NAME, "a lower-case name such as raffle"),
                      "the app name; stacks are named <app>-<env>-<stage>")
    environments: dict = field(MapOf(Struct(EnvironmentSpec, "an environment"),
                                     Str(NAME, "a lower-case name such as dev"), 1),
                               "the environments (dev, prod, …) and their settings")
    description: str = field(Str(), "what the app is", "")
    tags: dict = field(MapOf(Str()), "tags for every stack of the app", None)


@dataclass(frozen=True)
class Resource:
    """One blueprint resource: its kind, checked spec and where it was written."""

    logical_id: str
    kind: Kind
    spec: Any
    depends_on: tuple[str, ...]
    mark: Mark
    node: Map


@dataclass(frozen=True)
class Output:
    name: str
    value: Any
    description: str
    mark: Mark


class ResourceType(Type):
    """A resource mapping: `kind` picks the spec the rest is checked against."""

    expected = "a mapping with a 'kind' key"

    def check(self, value: Any, at: At) -> Any:
        if not isinstance(value, Map):
            return self.fail(value, at)
        kinds = registry()
        kind_name = value.get("kind")
        if "kind" not in value:
            at.key("kind", value.mark).error(
                "missing required key: the resource kind, one of " + ", ".join(kinds))
            return None
        if not isinstance(kind_name, str) or kind_name not in kinds:
            at.key("kind", value.value_marks["kind"]).error(
                f"unknown kind {shown(kind_name)}; expected one of {', '.join(kinds)}"
                + did_you_mean(kind_name, kinds))
            return None
        rest = _without(value, COMMON_KEYS)
        spec = Struct(kinds[kind_name].spec, f"kind '{kind_name}'").check(rest, at)
        depends = _depends_on(value, at)
        return None if spec is None else (kinds[kind_name], spec, depends)


def _without(node: Map, keys: tuple[str, ...]) -> Map:
    rest = Map((k, v) for k, v in node.items() if k not in keys)
    rest.mark = node.mark
    rest.key_marks = {k: m for k, m in node.key_marks.items() if k not in keys}
    rest.value_marks = {k: m for k, m in node.value_marks.items() if k not in keys}
    return rest


def _depends_on(node: Map, at: At) -> tuple[str, ...]:
    if "depends_on" not in node:
        return ()
    checked = ListOfIds.check(node["depends_on"], at.key("depends_on",
                                                        node.value_marks["depends_on"]))
    return tuple(checked or ())


class _ListOfIds(Type):
    expected = "a list of logical ids"

    def check(self, value: Any, at: At) -> Any:
        if not isinstance(value, Seq):
            return self.fail(value, at)
        return [LOGICAL_ID.check(v, at.item(i, value.item_marks[i]))
                for i, v in enumerate(value)]


ListOfIds = _ListOfIds()


class OutputType(Type):
    expected = "a value, or a mapping with 'value' and 'description'"

    def check(self, value: Any, at: At) -> Any:
        if isinstance(value, Map):
            spec = Struct(_OutputSpec, "an output").check(value, at)
            return spec and (spec.value, spec.description)
        return (Value().check(value, at), "")


@dataclass(frozen=True)
class _OutputSpec:
    value: Any = field(Value(), "the output's value, e.g. !GetAtt Entries.Arn")
    description: str = field(Str(), "what the output is", "")


@dataclass(frozen=True)
class StageSpec:
    resources: dict = field(MapOf(ResourceType(), LOGICAL_ID, 1),
                            "the stage's resources by logical id, each with a kind")
    description: str = field(Str(), "what the stage holds", "")
    region: str | None = field(REGION, "deploy this stage to another region "
                                       "(e.g. us-east-1 for CloudFront certificates)", None)
    conditions: dict = field(MapOf(Anything(), LOGICAL_ID),
                             "CloudFormation conditions (!Equals, !And, …)", None)
    outputs: dict = field(MapOf(OutputType(), LOGICAL_ID),
                          "values other stages may use with !Output <stage>.<name>", None)
    after_deploy: tuple = field(ListOf(StepType()), "steps the deployer runs once the "
                                                    "stack is deployed", ())


@dataclass(frozen=True)
class Environment:
    name: str
    region: str
    account: str | None
    values: dict
    local_only: bool = False


@dataclass(frozen=True)
class Stage:
    """One stage of an app in one environment: becomes one stack."""

    app: str
    env: str
    number: int
    name: str
    file: str
    region: str
    description: str
    resources: dict[str, Resource]
    outputs: dict[str, Output]
    conditions: dict
    after_deploy: tuple
    mark: Mark
    node: Map

    @property
    def stack_name(self) -> str:
        return f"{self.app}-{self.env}-{self.name}"

    @property
    def template_name(self) -> str:
        return f"{self.number:02d}-{self.name}.yaml"


@dataclass(frozen=True)
class App:
    """An app in one environment, its stages in dependency order."""

    name: str
    description: str
    env: Environment
    tags: dict
    stages: dict[str, Stage]
    order: tuple[str, ...]
    edges: dict[str, tuple[str, ...]]


def discover(root: str) -> list[str]:
    """App folders under blueprints/, sorted."""
    base = os.path.join(root, "blueprints")
    if not os.path.isdir(base):
        raise GeneratorError(f"no blueprints/ folder in {os.path.abspath(root)}; run this in "
                             "the project folder, or pass --root")
    found = []
    for name in sorted(os.listdir(base)):
        folder = os.path.join(base, name)
        if os.path.isfile(os.path.join(folder, "app.yaml")):
            found.append(name)
        elif os.path.isfile(os.path.join(folder, "app.yml")):
            raise BlueprintError([Problem(Mark(f"blueprints/{name}/app.yml", 1, 1), "",
                                          "the app file must be named app.yaml (not "
                                          ".yml); rename it")])
    return found


def load_app_spec(root: str, app_dir: str) -> tuple[AppSpec, Map]:
    shown_path = f"blueprints/{app_dir}/app.yaml"
    node = load_file(root, shown_path, None)
    problems = Problems()
    at = At(problems, getattr(node, "mark", Mark(shown_path, 1, 1)), "")
    spec = Struct(AppSpec, "app.yaml").check(node, at)
    if spec is not None and spec.name != app_dir:
        at.key("name", node.value_marks["name"]).error(
            f"the app name must match its folder blueprints/{app_dir}/, got {spec.name!r}")
    problems.check()
    return spec, node


def load_app(root: str, app_dir: str, env_name: str, spec: AppSpec) -> App:
    """Load, validate and resolve every stage of one app for one environment."""
    env_spec = spec.environments[env_name]
    env = Environment(env_name, env_spec.region, env_spec.account, env_spec.values or {},
                      env_spec.local_only)
    problems = Problems()
    stages: dict[str, Stage] = {}
    broken: set[str] = set()
    for number, name, shown_path in _stage_files(root, app_dir, problems):
        values = {**env.values, "env": env.name, "app": spec.name, "region": env.region}
        try:
            node = load_file(root, shown_path, values)
        except BlueprintError as exc:
            problems.items.extend(exc.problems)
            broken.add(name)
            continue
        stage = _stage(spec.name, env, number, name, shown_path, node, problems)
        if stage is None:
            broken.add(name)
        else:
            if name in stages:
                problems.add(stage.mark, "", f"two stage files are named '{name}' "
                             f"({stages[name].file} too); stage names must be unique")
            stages[name] = stage
    from .refs import check_references, stage_order

    # References are checked in every stage that loaded, so one run reports everything;
    # references to a stage that failed to load are not reported twice.
    edges = check_references(stages, problems, broken)
    problems.check()
    order = stage_order(stages, edges, problems)
    problems.check()
    return App(spec.name, spec.description, env, dict(spec.tags or {}), stages, order, edges)


SUBSTITUTED = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|[^}]*)?-?\}\}")


def value_origins(problems: list[Problem], root: str, app_node: Any,
                  env: str) -> list[Problem]:
    """A value found wrong ("expected …, got …") on a stage line that uses `{{ name }}`
    also says where the environment's value is written: that is what to change."""
    try:
        values = app_node["environments"][env]["values"]
        marks = values.value_marks
    except (KeyError, TypeError, AttributeError):
        return problems
    lines: dict[str, list[str]] = {}
    out = []
    for problem in problems:
        mark = problem.mark
        if mark is None or not mark.file.startswith("blueprints/") or \
                mark.file.endswith("/app.yaml") or not problem.message.startswith("expected"):
            out.append(problem)
            continue
        if mark.file not in lines:
            try:
                lines[mark.file] = read_text(root, mark.file).split("\n")
            except (OSError, PathError):
                lines[mark.file] = []
        row = lines[mark.file][mark.line - 1] if 0 < mark.line <= len(lines[mark.file]) \
            else ""
        notes = [f"{{{{ {name} }}}} is {values[name]!r} in environment '{env}' "
                 f"({marks[name]}): change it there"
                 for name in dict.fromkeys(SUBSTITUTED.findall(row)) if name in marks]
        out.append(Problem(mark, problem.path, problem.message + "; " + "; ".join(notes))
                   if notes else problem)
    return out


def _stage_files(root: str, app_dir: str, problems: Problems):
    folder = os.path.join(root, "blueprints", app_dir)
    for entry in sorted(os.listdir(folder)):
        shown_path = f"blueprints/{app_dir}/{entry}"
        if entry == "app.yaml" or not entry.endswith((".yaml", ".yml")):
            continue
        found = STAGE_FILE.fullmatch(entry)
        if not found:
            problems.add(Mark(shown_path, 1, 1), "", "a stage file must be named "
                         "NN-<stage>.yaml (two digits, a dash, a lower-case name), e.g. "
                         "01-table.yaml")
            continue
        yield int(found.group(1)), found.group(2), shown_path


def _stage(app: str, env: Environment, number: int, name: str, path: str, node: Any,
           problems: Problems) -> Stage | None:
    at = At(problems, getattr(node, "mark", Mark(path, 1, 1)), "")
    if node is None:
        at.error("the stage file is empty; it needs at least 'resources:'")
        return None
    spec = Struct(StageSpec, "a stage").check(node, at)
    if spec is None:
        return None
    resources = {}
    for logical_id, (kind, rspec, depends) in spec.resources.items():
        rnode = node["resources"][logical_id]
        resources[logical_id] = Resource(logical_id, kind, rspec, depends, rnode.mark, rnode)
    outputs = {}
    onode = node.get("outputs") or {}
    for out_name, (value, description) in (spec.outputs or {}).items():
        outputs[out_name] = Output(out_name, value, description, onode.key_marks[out_name])
    return Stage(app, env.name, number, name, path, spec.region or env.region,
                 spec.description, resources, outputs, dict(spec.conditions or {}),
                 spec.after_deploy, node.mark, node)
