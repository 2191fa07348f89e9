"""Synth: a checked stage → a troposphere Template, with no AWS calls.

`StageBuilder` is what a kind's builder gets: it turns blueprint values (with their
intrinsics) into CloudFormation, adds resources while remembering which blueprint line
each came from, wires `!Output` references as template Parameters, and registers code
assets. Builders stay small because everything shared lives here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from troposphere import Output, Parameter, Tags, Template

from .assets import Asset, handler_problem, package
from .cfn import Intrinsic, pascal, ref
from .errors import GeneratorError, Mark, Problems, did_you_mean
from .model import App, Resource, Stage
from .policyguard import check_template
from .refs import parse_output
from .source import Map, Seq, Tag
from .steps import check_files

ASSET_BUCKET = "AssetBucket"


@dataclass(frozen=True)
class Wiring:
    """Where a generated template parameter gets its value at deploy time.

    `source` is what the manifest records: {"stack", "output"} for another stage's
    output, {"asset_bucket": true}, or {"hosted_zone": name} for a zone id looked up
    by its domain name.
    """

    parameter: str
    description: str
    source: dict


class StageBuilder:
    """Everything a kind's builder needs while turning one stage into a template."""

    def __init__(self, root: str, app: App, stage: Stage, problems: Problems) -> None:
        self.root, self.app, self.stage, self.problems = root, app, stage, problems
        self.template = Template()
        self.template.set_version("2010-09-09")
        self.template.set_description(_description(app, stage))
        self.wiring: dict[str, Wiring] = {}
        self.assets: list[Asset] = []
        # template resource → the blueprint resource that made it (for positions)
        self.sources: dict[str, Resource] = {}

    # -- values -------------------------------------------------------------------
    def value(self, value: Any) -> Any:
        """A blueprint value (maps, lists, intrinsics) as CloudFormation."""
        if isinstance(value, Tag):
            return self._tag(value)
        if isinstance(value, (Map, dict)):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (Seq, list, tuple)):
            return [self.value(v) for v in value]
        return value

    def _tag(self, tag: Tag) -> Intrinsic:
        if tag.name == "Output":
            stage, output = parse_output(tag)
            return ref(self.output_parameter(stage, output))
        if tag.name == "Ref":
            return ref(tag.value)
        if tag.name == "Condition":
            return Intrinsic({"Condition": tag.value})
        if tag.name == "GetAtt" and isinstance(tag.value, str):
            return Intrinsic({"Fn::GetAtt": tag.value.split(".", 1)})
        return Intrinsic({f"Fn::{tag.name}": self.value(tag.value)})

    def output_parameter(self, stage: str, output: str) -> str:
        stack = f"{self.app.name}-{self.app.env.name}-{stage}"
        return self._parameter(f"{pascal(stage)}{output}", f"Output {output} of stack {stack}",
                               {"stack": stack, "output": output})

    def ssm_value(self, name: str, value: Any) -> Intrinsic:
        """A parameter CloudFormation resolves from SSM Parameter Store at deploy time.

        `value` is the SSM parameter's name: `!Output <stage>.<Name>` (wired by the
        deployer) or a literal name (the parameter's default).
        """
        parameter = f"{name}FromSsm"
        if isinstance(value, Tag) and value.name == "Output":
            stage, output = parse_output(value)
            stack = f"{self.app.name}-{self.app.env.name}-{stage}"
            source = {"stack": stack, "output": output}
            description = f"SSM parameter named by output {output} of stack {stack}"
            return ref(self._parameter(parameter, description, source,
                                       Type="AWS::SSM::Parameter::Value<String>"))
        return ref(self._parameter(parameter, f"SSM parameter {value}", {"default": True},
                                   Type="AWS::SSM::Parameter::Value<String>", Default=value))

    def asset_bucket(self) -> Intrinsic:
        return ref(self._parameter(
            ASSET_BUCKET, "Bucket holding this app's code and files (created by the "
                          "deployer's bootstrap stack)", {"asset_bucket": True}))

    def hosted_zone_id(self, domain: str) -> Intrinsic:
        """The id of the Route 53 hosted zone of a domain, looked up at deploy time."""
        zone = domain.rstrip(".").lower()
        name = "HostedZone" + pascal(zone.replace(".", "-"))
        return ref(self._parameter(name, f"Id of the Route 53 hosted zone {zone}",
                                   {"hosted_zone": zone}))

    def _parameter(self, name: str, description: str, source: dict, **props: Any) -> str:
        if name not in self.wiring:
            self.wiring[name] = Wiring(name, description, source)
            props.setdefault("Type", "String")
            self.template.add_parameter(Parameter(name, Description=description, **props))
        return name

    def tags(self, *tag_maps: dict | None) -> Tags | None:
        merged: dict = {}
        for tag_map in tag_maps:
            merged.update(tag_map or {})
        return Tags(**{k: self.value(v) for k, v in sorted(merged.items())}) \
            if merged else None

    # -- resources ----------------------------------------------------------------
    def add(self, source: Resource, *resources: Any) -> None:
        """Add troposphere resources made for a blueprint resource."""
        for resource in resources:
            if resource.title == source.logical_id and source.depends_on:
                resource.DependsOn = list(source.depends_on)
            if resource.title in self.template.resources:
                self._collision(source, resource.title)
                continue
            part = resource.title.removeprefix(source.logical_id)
            skips = source.kind.skips(source.spec, part) \
                if part != resource.title else []
            if skips:
                resource.Metadata = {"checkov": {"skip": skips}}
            self.template.add_resource(resource)
            self.sources[resource.title] = source

    def _collision(self, source: Resource, title: str) -> None:
        first = self.sources[title]
        blueprint = first if first.logical_id == title else source
        maker = source if blueprint is first else first
        self.error(blueprint.mark, f"resources.{blueprint.logical_id}",
                   f"the name {title} is taken: {maker.kind.name} '{maker.logical_id}' "
                   f"generates a resource named {title}; rename {blueprint.logical_id}")

    def _code_folders(self) -> list[str]:
        folder = os.path.join(self.root, "lambda_code")
        return [e.name for e in os.scandir(folder) if e.is_dir()] \
            if os.path.isdir(folder) else []

    def code(self, source: Resource, folder: str, include: tuple[str, ...],
             handler: str | None = None, runtime: str = "python") -> str:
        """Package lambda_code/<folder> (+ shared folders); the S3 key of the zip.

        With `handler` (module.function), the module must define that function (for
        Node.js, the file must exist)."""
        node = source.node
        for key, name in [("code", folder)] + [("include", n) for n in include]:
            if not os.path.lexists(os.path.join(self.root, "lambda_code", name)):
                what = "the handler code" if key == "code" else "the shared modules"
                self.error(node.value_marks[key], f"resources.{source.logical_id}.{key}",
                           f"no folder lambda_code/{name}/"
                           + did_you_mean(name, self._code_folders())
                           + f"; create it with {what}, or fix the name")
                return "missing"
        try:
            asset = package(self.root, folder, include)
        except GeneratorError as exc:
            self.error(node.value_marks["code"], f"resources.{source.logical_id}.code",
                       str(exc))
            return "missing"
        wrong = handler and handler_problem(self.root, folder, include, handler,
                                                runtime)
        if wrong:
            key = "handler" if "handler" in node else "code"
            self.error(node.value_marks[key], f"resources.{source.logical_id}.{key}",
                       f"handler {handler}: {wrong}")
        if asset.key not in {a.key for a in self.assets}:
            self.assets.append(asset)
        return asset.key

    def target_kind(self, value: Any, stage: Stage | None = None):
        """The kind of resource a value (a `!Ref`, `!GetAtt` or `!Output`) points at."""
        resource = self.target_resource(value, stage)
        return resource.kind if resource else None

    def target_resource(self, value: Any, stage: Stage | None = None) -> Resource | None:
        """The blueprint resource a value points at, in this stage or (through `!Output`)
        another."""
        tag, stage = self._followed(value, stage or self.stage)
        if tag is None or tag.name not in ("Ref", "GetAtt"):
            return None
        target = tag.value
        if tag.name == "GetAtt":
            target = target.split(".", 1)[0] if isinstance(target, str) else target[0]
        return stage.resources.get(target)

    def target_attribute(self, value: Any, stage: Stage | None = None) -> str | None:
        """The `!GetAtt` attribute a value (through `!Output`) names, if any."""
        tag, _ = self._followed(value, stage or self.stage)
        if tag is None or tag.name != "GetAtt":
            return None
        parts = tag.value.split(".", 1) if isinstance(tag.value, str) else tag.value
        return parts[1] if len(parts) == 2 and isinstance(parts[1], str) else None

    def _followed(self, value: Any, stage: Stage) -> tuple[Tag | None, Stage]:
        """A value's tag, with `!Output`s followed to the stage whose output it is."""
        while isinstance(value, Tag) and value.name == "Output":
            stage_name, output = parse_output(value)
            stage = self.app.stages[stage_name]
            value = stage.outputs[output].value
        return (value if isinstance(value, Tag) else None), stage

    def function_arn(self, value: Any, mark: Mark | None, path: str) -> Any:
        """A value that must be a Lambda function's ARN, as CloudFormation; pointing at
        another kind of resource (a bucket's output, say) is a located error."""
        kind = self.target_kind(value)
        if kind is not None and kind.name not in ("function", "raw"):
            self.error(mark, path, f"{value!r} is a {kind.name}, not a function; give a "
                                   "function's ARN, e.g. !GetAtt Worker.Arn or !Output "
                                   "<stage>.<FunctionArnOutput>")
        return self.value(value)

    def error(self, mark: Mark | None, path: str, message: str) -> None:
        self.problems.add(mark, path, message)

    def finish(self) -> Template:
        for name, output in self.stage.outputs.items():
            self.template.add_output(Output(
                name, Value=self.value(output.value),
                **({"Description": output.description} if output.description else {})))
        for name, condition in self.stage.conditions.items():
            self.template.add_condition(name, self.value(condition))
        return self.template


def _description(app: App, stage: Stage) -> str:
    what = f": {stage.description}" if stage.description else ""
    return (f"{app.name} {stage.name} ({app.env.name}){what}. "
            f"Generated from {stage.file}; do not edit.")


def guard(builder: StageBuilder, template: dict, text: bytes | None = None) -> bool:
    """Report the policy guard's findings on the blueprint lines; True when there are none.
    `text`: the template as written, which lets the guard skip a look (`check_template`)."""
    violations = check_template(template, builder.app.env.account, text)
    for violation in violations:
        source = builder.sources.get(violation.logical_id)
        mark, path = locate(source and Origin.of(source), violation.logical_id,
                            violation.path)
        builder.error(mark, path, violation.message + " (policy guard)")
    return not violations


@dataclass(frozen=True)
class Origin:
    """Where a built resource was written: what `locate` needs to point at a place in
    it, and nothing more (it pickles: a helper process may have built the stack)."""

    logical_id: str
    mark: Mark
    keys: dict          # value marks of its top-level keys
    node: Map | None    # a `raw` resource's whole node: findings point inside it

    @classmethod
    def of(cls, source: Resource) -> Origin:
        raw = source.kind.name == "raw"
        return cls(source.logical_id, source.mark, source.node.value_marks,
                   source.node if raw else None)


def origins(sources: dict[str, Resource]) -> dict[str, Origin]:
    made: dict[str, Origin] = {}
    return {title: made.setdefault(source.logical_id, Origin.of(source))
            for title, source in sources.items()}


def locate(source: Origin | None, logical_id: str, path: tuple) -> tuple[Mark | None, str]:
    """The blueprint position and key path of a place in a built resource: inside a
    `raw` resource's properties where it was written, else the blueprint key of the same
    name (snake_case) or the resource that generated it."""
    if source is None:
        return None, _dotted(logical_id, path)
    if source.node is None or source.logical_id != logical_id \
            or path[:1] != ("Properties",):
        where = f"resources.{source.logical_id}" + (
            f" (generated {logical_id})" if logical_id != source.logical_id else "")
        name = path[1] if path[:1] == ("Properties",) and len(path) > 1 else \
            (path[0] if path else None)
        key = _snake(name) if isinstance(name, str) else None
        if key and key in source.keys and logical_id == source.logical_id:
            return source.keys[key], f"{where}.{key}"
        return source.mark, _dotted(where, path)
    mark, node = source.mark, source.node
    for part in ("properties",) + tuple(path[1:]):
        if isinstance(node, Map) and part in node:
            mark, node = node.value_marks[part], node[part]
        elif isinstance(node, Seq) and isinstance(part, int) and part < len(node):
            mark, node = node.item_marks[part], node[part]
        else:
            break
    return mark, _dotted(f"resources.{source.logical_id}.properties", tuple(path[1:]))


def _plain(exc: Exception) -> str:
    """troposphere's type errors without its class reprs."""
    text = re.sub(r"<class '(?:[a-z0-9_]+\.)*([A-Za-z0-9_]+)'>", r"\1", str(exc))
    return text.replace("None.", "").replace(": ", " ", 1) + \
        ("; quote numbers where text is expected" if "int, expected str" in text else "")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _dotted(start: str, path: tuple) -> str:
    return start + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def build_stage(root: str, app: App, stage: Stage, problems: Problems) -> StageBuilder:
    """Run every resource's builder; problems are collected, not raised."""
    builder = StageBuilder(root, app, stage, problems)
    for resource in stage.resources.values():
        try:
            resource.kind.build(builder, resource)
        except (TypeError, ValueError) as exc:   # troposphere's own checks of a value
            builder.error(resource.mark, f"resources.{resource.logical_id}",
                          f"a value has the wrong type: {_plain(exc)}")
    check_files(root, stage, problems)
    builder.finish()
    return builder
