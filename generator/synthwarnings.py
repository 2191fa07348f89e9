"""Synth warnings: blueprints that are valid but almost certainly not what was meant.

They do not fail the synth (a stage may be half-way through a change); they are shown
with the lint warnings, on the blueprint line they come from.
"""

from __future__ import annotations

from dataclasses import dataclass

from .lint import Finding
from .model import App
from .refs import parse_output
from .source import Tag

RULE = "generator"


@dataclass(frozen=True)
class SynthWarning(Finding):
    """A warning of the generator itself (not cfn-lint's), at its blueprint line."""

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.message}"


def app_warnings(app: App, template_of) -> list[Finding]:
    """Every warning for one app in one environment; `template_of(stage)` names the
    template a stage's warnings belong to."""
    return unreachable_apis(app, template_of)


def unreachable_apis(app: App, template_of) -> list[Finding]:
    """An http_api whose default execute-api endpoint is off (the default) and that no
    api_domain maps cannot be called at all."""
    mapped = _mapped_apis(app)
    found = []
    for stage in app.stages.values():
        for logical_id, resource in stage.resources.items():
            if resource.kind.name != "http_api" or resource.spec.execute_api_endpoint:
                continue
            if (stage.name, logical_id) in mapped:
                continue
            mark = resource.mark
            found.append(SynthWarning(
                template_of(stage), 1, 1, RULE, "warning",
                f"http_api {logical_id} cannot be called: its default execute-api endpoint "
                "is off (execute_api_endpoint: false) and no api_domain maps it; add a "
                "mapping ({api: !Ref " + logical_id + ", stage: !Ref " + logical_id
                + "Stage}) to an api_domain, or set execute_api_endpoint: true",
                mark, f"resources.{logical_id}"))
    return found


def _mapped_apis(app: App) -> set[tuple[str, str]]:
    """(stage, logical id) of every API an api_domain of the app maps."""
    mapped = set()
    for stage in app.stages.values():
        for resource in stage.resources.values():
            if resource.kind.name != "api_domain":
                continue
            for mapping in resource.spec.mappings:
                target = _api_of(app, stage.name, mapping.api)
                if target:
                    mapped.add(target)
    return mapped


def _api_of(app: App, stage_name: str, value) -> tuple[str, str] | None:
    """The (stage, logical id) a mapping's `api` refers to: `!Ref X` in its own stage,
    or `!Output stage.Name` whose output is `!Ref X` there."""
    if not isinstance(value, Tag):
        return None
    if value.name == "Ref" and isinstance(value.value, str):
        return stage_name, value.value
    parsed = parse_output(value) if value.name == "Output" else None
    if parsed and parsed[0] in app.stages:
        output = app.stages[parsed[0]].outputs.get(parsed[1])
        return _api_of(app, parsed[0], output.value) if output else None
    return None
