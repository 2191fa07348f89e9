"""After-deploy steps, run once their stack is deployed (and checked on every deploy).

Each step compares what is there with what should be there and writes only the
difference, so a deploy with nothing to do makes no write calls: files are compared by
MD5 (the S3 ETag of a single-part upload), the API key's SecureString by its value.
"""

from __future__ import annotations

import hashlib
import os

from ..errors import GeneratorError
from ..paths import PathError, check_shippable
from ..site import render_site
from ..steps import check_upload
from .cloud import DeployError
from .localurls import local_outputs
from .manifest import StackSpec
from .models import StackState


def run_steps(deployer, spec: StackSpec, state: StackState) -> None:
    for step in spec.after_deploy:
        (name, body), = step.items()
        values = {k: _value(deployer, spec, v) for k, v in body.items() if k != "values"}
        if "values" in body:
            values["values"] = {k: _value(deployer, spec, v) for k, v in body["values"].items()}
        STEPS[name](deployer, spec, values)


def _value(deployer, spec: StackSpec, value):
    if not isinstance(value, dict):
        return value
    resolved = deployer.resolve(spec, value)
    if deployer.cloud.target.local and isinstance(resolved, str) and \
            resolved.startswith("https://"):
        region = deployer.region_of(value["stack"], spec.region)
        resolved = local_outputs(deployer.cloud, value["stack"], region,
                                 {"v": resolved})["v"]
    return resolved


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def upload_file(deployer, spec: StackSpec, step: dict) -> None:
    if not os.path.lexists(os.path.join(deployer.root, step["file"])):
        hint = " (run `make ca` to make a development CA)" if "ca/" in step["file"] else ""
        raise DeployError(f"after deploy: {step['file']} does not exist{hint}; the stack is "
                          "deployed, so create the file and deploy again")
    try:
        with open(check_upload(deployer.root, step["file"]), "rb") as handle:
            body = handle.read()
        check_shippable(step["file"], body)
    except PathError as exc:
        raise DeployError(f"after deploy: {exc.message}; nothing was uploaded") from None
    cloud = deployer.cloud
    if cloud.object_etags(step["bucket"], spec.region).get(step["key"]) == _md5(body):
        return
    cloud.put_object(step["bucket"], step["key"], body, spec.region)
    deployer.console.say(spec.name, f"uploaded {step['file']} to s3://{step['bucket']}/"
                                    f"{step['key']}")


def publish_site(deployer, spec: StackSpec, step: dict) -> None:
    try:
        files = render_site(deployer.root, step["source"], step.get("values", {}))
    except GeneratorError as exc:
        raise DeployError(f"after deploy: {exc}") from None
    cloud, bucket = deployer.cloud, step["bucket"]
    present = cloud.object_etags(bucket, spec.region)
    changed = [f for f in files if present.get(f.key) != _md5(f.body)]
    for file in changed:
        cloud.put_object(bucket, file.key, file.body, spec.region,
                         ContentType=file.content_type, CacheControl=file.cache_control)
    stale = sorted(set(present) - {f.key for f in files})
    if stale:
        cloud.client("s3", spec.region).delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale], "Quiet": True})
    if not changed and not stale:
        return
    deployer.console.say(spec.name, f"published {len(changed)} changed file(s), removed "
                                    f"{len(stale)}, to s3://{bucket}")
    if step.get("distribution"):
        paths = [f"/{f.key}" for f in changed] + [f"/{k}" for k in stale]
        cloud.client("cloudfront", spec.region).create_invalidation(
            DistributionId=step["distribution"], InvalidationBatch={
                "Paths": {"Quantity": len(paths), "Items": paths},
                "CallerReference": hashlib.sha256("".join(paths).encode()
                                                  + os.urandom(8)).hexdigest()[:32]})
        deployer.console.say(spec.name, f"invalidated {len(paths)} path(s) in CloudFront")


def store_api_key(deployer, spec: StackSpec, step: dict) -> None:
    cloud = deployer.cloud
    key = cloud.client("apigateway", spec.region).get_api_key(
        apiKey=step["api_key"], includeValue=True)["value"]
    ssm = cloud.client("ssm", spec.region)
    try:
        current = ssm.get_parameter(Name=step["parameter"], WithDecryption=True)["Parameter"]
        if current["Value"] == key and current.get("Type") == "SecureString":
            return
    except ssm.exceptions.ParameterNotFound:
        pass
    extra = {"KeyId": step["kms_key"]} if step.get("kms_key") else {}
    ssm.put_parameter(Name=step["parameter"], Value=key, Type="SecureString", Overwrite=True,
                      Description=f"API key of {spec.name} (written by the deployer)", **extra)
    deployer.console.say(spec.name, f"stored the API key in SSM {step['parameter']} "
                                    "(SecureString)")


STEPS = {"upload_file": upload_file, "publish_site": publish_site,
         "store_api_key": store_api_key}
