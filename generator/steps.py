"""After-deploy steps: work the deployer does once a stage's stack is deployed.

Some things CloudFormation cannot do (upload a file, render and publish a site, store an
API key as an SSM SecureString). A stage declares them under `after_deploy:`, each a
mapping with one key naming the step. Values may be `!Output <stage>.<Name>` — the
stage's own outputs included, since steps run after its stack. The manifest records
each step with its outputs as {"stack", "output"} references for the deployer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .errors import did_you_mean
from .paths import PathError, check_real, never_shipped, resolve
from .source import Map, Tag
from .spec import At, Bool, MapOf, Str, Struct, Type, Value, field

PATH = Str(r"(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9_./-]+",
           "a path inside the project folder (no leading / and no ..)")
SITE_FOLDER = "site_assets/"
CERTIFICATES = (".pem", ".crt", ".cer")
EXTERNAL = field(Bool(), "the bucket is not one of this app's outputs, on purpose", None)


@dataclass(frozen=True)
class UploadFile:
    """Upload one local file (e.g. the mutual-TLS CA bundle) to a bucket."""

    file: str = field(PATH, "the file to upload, e.g. build/ca/RootCA.pem")
    bucket: Any = field(Value(), "the bucket name, e.g. !Output <stage>.<BucketOutput>")
    key: str = field(PATH, "the object key")
    external: bool | None = EXTERNAL


@dataclass(frozen=True)
class PublishSite:
    """Render a folder of Jinja2 pages with stack outputs and publish it."""

    source: str = field(PATH, "the folder of site files, e.g. site_assets/raffle")
    bucket: Any = field(Value(), "the site bucket name")
    distribution: Any = field(Value(), "the CloudFront distribution id to invalidate "
                                       "when files change", None)
    values: dict = field(MapOf(Value()), "values the pages are rendered with", None)
    external: bool | None = EXTERNAL


@dataclass(frozen=True)
class StoreApiKey:
    """Store an API Gateway key's value as an SSM SecureString."""

    api_key: Any = field(Value(), "the API key id, e.g. !Output <stage>.ApiKeyId")
    parameter: Any = field(Value(), "the SSM parameter name to write")
    kms_key: Any = field(Value(), "the KMS key id or ARN that encrypts it", None)


STEPS = {"upload_file": UploadFile, "publish_site": PublishSite, "store_api_key": StoreApiKey}


class StepType(Type):
    expected = "a mapping with one step: " + ", ".join(STEPS)

    def check(self, value: Any, at: At) -> Any:
        if not isinstance(value, Map) or len(value) != 1:
            return self.fail(value, at)
        (name, body), = value.items()
        step_at = at.key(name, value.key_marks[name])
        if name not in STEPS:
            step_at.error(f"unknown step '{name}'; steps: {', '.join(STEPS)}"
                          + did_you_mean(name, STEPS))
            return None
        body_at = at.key(name, value.value_marks[name])
        spec = Struct(STEPS[name], f"step {name}").check(body, body_at)
        if spec is None:
            return None
        _check_shipping(name, spec, body, body_at)
        return name, spec

    def schema(self) -> dict:
        return {"type": "object", "minProperties": 1, "maxProperties": 1,
                "properties": {n: Struct(s).schema() for n, s in STEPS.items()},
                "additionalProperties": False}


def _check_shipping(name: str, spec: Any, body: Map, at: At) -> None:
    """What a step uploads is allow-listed, and where it goes is this app's own bucket."""
    if name == "upload_file":
        file_at = at.key("file", body.value_marks.get("file"))
        reason = never_shipped(spec.file)
        if reason:
            file_at.error(f"{spec.file} can never be uploaded: {reason}")
        elif not spec.file.startswith(SITE_FOLDER) and not spec.file.endswith(CERTIFICATES):
            file_at.error(f"only files under {SITE_FOLDER} and public certificates "
                          f"({', '.join(CERTIFICATES)}) can be uploaded, got {spec.file}; "
                          f"move the file under {SITE_FOLDER}")
    if name == "publish_site" and not spec.source.startswith(SITE_FOLDER):
        at.key("source", body.value_marks.get("source")).error(
            f"a site is published from a folder under {SITE_FOLDER}, got {spec.source}")
    if name == "store_api_key" or spec.external:
        return
    if not (isinstance(spec.bucket, Tag) and spec.bucket.name == "Output"):
        at.key("bucket", body.value_marks.get("bucket")).error(
            "the bucket should be an output of this app (!Output <stage>.<Name>); to upload "
            "to a bucket outside the app on purpose, add `external: true`")


def check_files(root: str, stage, problems) -> None:
    """The files a stage's steps will ship exist inside the project (checked at synth, so
    a pull request cannot smuggle a link out; the CA bundle may be made later)."""
    node = stage.node.get("after_deploy") or []
    for index, (name, spec) in enumerate(stage.after_deploy):
        body = node[index][name]
        path = f"after_deploy[{index}].{name}"
        try:
            if name == "publish_site":
                from .site import check_site

                check_site(root, spec.source)
            elif name == "upload_file" and os.path.lexists(os.path.join(root, spec.file)):
                check_upload(root, spec.file)
        except PathError as exc:
            field_name = "source" if name == "publish_site" else "file"
            problems.add(body.value_marks.get(field_name), f"{path}.{field_name}",
                         exc.message)


def check_upload(root: str, file: str) -> str:
    """An upload's real file: inside the project, and where it really is, as allowed as
    the name it is given (a link cannot turn .git/config into logo.pem)."""
    real = resolve(root, file)
    check_real(root, real, file)
    relative = os.path.relpath(real, os.path.realpath(root)).replace(os.sep, "/")
    if not relative.startswith(SITE_FOLDER) and not relative.endswith(CERTIFICATES):
        raise PathError(f"{file} leads to {relative}, which may not be uploaded (only files "
                        f"under {SITE_FOLDER} and public certificates)")
    return real
