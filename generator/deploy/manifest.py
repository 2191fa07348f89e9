"""Reading build/: the manifests and templates a deploy works from."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from ..errors import GeneratorError, UsageError, did_you_mean
from ..inputs import inputs_hash
from ..paths import PathError, resolve


@dataclass(frozen=True)
class StackSpec:
    """One stack to deploy, as synth described it."""

    app: str
    env: str
    stage: str
    name: str
    region: str
    template: bytes
    depends_on: tuple[str, ...]
    parameters: dict
    assets: tuple[dict, ...]
    after_deploy: tuple[dict, ...]
    tags: dict
    data_holding: tuple[str, ...]
    account: str | None = None
    home: str = ""          # the environment's region: where its lock and state live

    @property
    def home_region(self) -> str:
        return self.home or self.region


def load_stacks(root: str, env: str, apps: list[str] | None,
                stages: list[str] | None = None) -> list[StackSpec]:
    """Every stack of the selected apps in `env`, in dependency order."""
    folder = os.path.join(root, "build", env)
    if not os.path.isdir(folder):
        raise GeneratorError(f"nothing synthesized for environment '{env}' (no build/{env}/); "
                             "run `make synth` first")
    available = sorted(d for d in os.listdir(folder)
                       if os.path.isfile(os.path.join(folder, d, "manifest.json")))
    for app in apps or []:
        if app not in available:
            raise UsageError(f"no app '{app}' in build/{env}/; apps: "
                                 f"{', '.join(available)}" + did_you_mean(app, available))
    stacks = []
    for app in apps or available:
        stacks += _app_stacks(root, env, app)
    if stages:
        names = {s.stage for s in stacks}
        for stage in stages:
            if stage not in names:
                raise UsageError(f"no stage '{stage}'; stages: {', '.join(sorted(names))}"
                                     + did_you_mean(stage, names))
        stacks = [s for s in stacks if s.stage in stages]
    return stacks


def stale_apps(root: str, stacks: list[StackSpec]) -> list[str]:
    """Apps whose blueprints, code or assets changed since their build was made (a
    build shipped without its blueprints/ is taken as it is)."""
    stale = []
    for env, app in sorted({(s.env, s.app) for s in stacks}):
        if not os.path.isdir(os.path.join(root, "blueprints", app)):
            continue
        recorded = read_manifest(root, env, app).get("inputs_sha256")
        if recorded != inputs_hash(root, app):
            stale.append(app)
    return stale


def check_fresh(root: str, stacks: list[StackSpec]) -> None:
    """Refuse a build whose inputs changed since the last synth."""
    stale = stale_apps(root, stacks)
    if stale:
        raise GeneratorError(f"blueprints, Lambda code or site assets of {', '.join(stale)} "
                             "changed since the last synth, so build/ does not hold them: "
                             "run `make synth` (make deploy and make plan do it first)")


def read_manifest(root: str, env: str, app: str) -> dict:
    """An app's manifest; a broken one names itself and says to run `make synth`."""
    shown = f"build/{env}/{app}/manifest.json"
    try:
        with open(resolve(root, shown), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except PathError as exc:
        raise GeneratorError(f"{exc.message}; run `make synth` to build it") from None
    except (ValueError, OSError) as exc:
        raise GeneratorError(f"{shown} cannot be read ({exc}): it was cut short or edited "
                             "by hand; run `make synth` to write it again") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("stacks"), list):
        raise GeneratorError(f"{shown} is not a manifest this generator wrote; run "
                             "`make synth` to write it again")
    return manifest


def _app_stacks(root: str, env: str, app: str) -> list[StackSpec]:
    manifest = read_manifest(root, env, app)
    try:
        return [_stack(root, env, app, manifest, entry) for entry in manifest["stacks"]]
    except (KeyError, TypeError, AttributeError) as exc:
        raise GeneratorError(f"build/{env}/{app}/manifest.json lacks {exc} or has it in "
                             "another shape: it was edited by hand or written by another "
                             "version; run `make synth`") from None


def _stack(root: str, env: str, app: str, manifest: dict, entry: dict) -> StackSpec:
    shown = f"build/{env}/{app}/{entry['template']}"
    try:
        template_path = resolve(root, shown)
    except PathError as exc:
        raise GeneratorError(f"{exc.message}, but the manifest lists it; run "
                             "`make synth` to build it again") from None
    with open(template_path, "rb") as handle:
        template = handle.read()
    if hashlib.sha256(template).hexdigest() != entry["template_sha256"]:
        raise GeneratorError(f"build/{env}/{app}/{entry['template']} does not match its "
                             "manifest (edited by hand?); run `make synth`")
    tags = {**manifest.get("tags", {}), "blueprint:app": app, "blueprint:env": env,
            "blueprint:stage": entry["stage"]}
    return StackSpec(app, env, entry["stage"], entry["stack_name"], entry["region"],
                     template, tuple(entry["depends_on"]), entry["parameters"],
                     tuple(entry["assets"]), tuple(entry["after_deploy"]), tags,
                     tuple(entry.get("data_holding", [])), manifest.get("account"),
                     manifest.get("region", entry["region"]))


def refuse_local_only(root: str, env: str) -> None:
    """An environment marked `local_only: true` (app.yaml) never reaches AWS."""
    folder = os.path.join(root, "build", env)
    for app in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        path = os.path.join(folder, app, "manifest.json")
        if os.path.isfile(path) and read_manifest(root, env, app).get("local_only"):
            raise GeneratorError(
                f"environment '{env}' of {app} is local_only (app.yaml): it deploys "
                "to the local cloud only; add --local (or --endpoint), or pick "
                "another environment with --env")
