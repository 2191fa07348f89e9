"""After-deploy steps: work the deployer does once a stage's stack is deployed.

Some things CloudFormation cannot do (upload a file, render and publish a site, store an
API key as an SSM SecureString). A stage declares them under `after_deploy:`, each a
mapping with one key naming the step. Values may be `!Output <stage>.<Name>` — the
stage's own outputs included, since steps run after its stack. The manifest records
each step with its outputs as {"stack", "output"} references for the deployer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import did_you_mean
from .source import Map
from .spec import At, MapOf, Str, Struct, Type, Value, field

PATH = Str(r"(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9_./-]+",
           "a path inside the project folder (no leading / and no ..)")


@dataclass(frozen=True)
class UploadFile:
    """Upload one local file (e.g. the mutual-TLS CA bundle) to a bucket."""

    file: str = field(PATH, "the file to upload, e.g. build/ca/RootCA.pem")
    bucket: Any = field(Value(), "the bucket name, e.g. !Output <stage>.<BucketOutput>")
    key: str = field(PATH, "the object key")


@dataclass(frozen=True)
class PublishSite:
    """Render a folder of Jinja2 pages with stack outputs and publish it."""

    source: str = field(PATH, "the folder of site files, e.g. site_assets/raffle")
    bucket: Any = field(Value(), "the site bucket name")
    distribution: Any = field(Value(), "the CloudFront distribution id to invalidate "
                                       "when files change", None)
    values: dict = field(MapOf(Value()), "values the pages are rendered with", None)


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
        spec = Struct(STEPS[name], f"step {name}").check(
            body, at.key(name, value.value_marks[name]))
        return None if spec is None else (name, spec)

    def schema(self) -> dict:
        return {"type": "object", "minProperties": 1, "maxProperties": 1,
                "properties": {n: Struct(s).schema() for n, s in STEPS.items()},
                "additionalProperties": False}
