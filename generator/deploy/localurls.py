"""What a deployed URL output is called on the local cloud.

On AWS, `ApiUrl` names a custom domain and `CustomersUrl` an execute-api host; neither
resolves here. The local cloud serves APIs at `<endpoint>/_aws/execute-api/<id>/<stage>`
and distributions at `http://<id>.cloudfront.localhost:<port>` (browsers resolve
`*.localhost` to this machine). The rewrite keeps the output's key and its path.
"""

from __future__ import annotations

import re
import urllib.parse

from .cloud import Cloud

EXECUTE_API = re.compile(r"([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com")


def local_outputs(cloud: Cloud, stack: str, region: str, outputs: dict) -> dict:
    """Outputs with every https URL this machine cannot reach replaced by the local one."""
    rewritten = {}
    domains = None
    for key, value in outputs.items():
        url = urllib.parse.urlparse(value) if isinstance(value, str) else None
        if not url or url.scheme != "https" or not url.hostname:
            rewritten[key] = value
            continue
        if domains is None:
            domains = _domains(cloud, stack, region)
        rewritten[key] = _rewrite(cloud, url, domains) or value
    return rewritten


def _rewrite(cloud: Cloud, url, domains: dict) -> str | None:
    endpoint = cloud.target.endpoint
    found = EXECUTE_API.fullmatch(url.hostname)
    if found:
        return f"{endpoint}/_aws/execute-api/{found.group(1)}{url.path}"
    target = domains.get(url.hostname)
    if target is None:
        return None
    if target[0] == "api":
        _, api_id, stage, mapping = target[0], target[1], target[2], target[3]
        path = url.path
        if mapping and path.startswith("/" + mapping):
            path = path[len(mapping) + 1:]
        return f"{endpoint}/_aws/execute-api/{api_id}/{stage}{path}"
    label = target[1].split(".")[0]
    port = urllib.parse.urlparse(endpoint).port
    return f"http://{label}.cloudfront.localhost:{port}{url.path or '/'}"


def _domains(cloud: Cloud, stack: str, region: str) -> dict:
    """Custom domain names of a stack's API domains and distributions → what serves them."""
    found: dict = {}
    for resource in cloud.resources(stack, region):
        kind, physical = resource["ResourceType"], resource.get("PhysicalResourceId")
        if kind == "AWS::ApiGatewayV2::ApiMapping" or not physical:
            continue
        if kind == "AWS::ApiGatewayV2::DomainName":
            mappings = cloud.client("apigatewayv2", region).get_api_mappings(
                DomainName=physical).get("Items", [])
            for mapping in mappings:
                found[physical] = ("api", mapping["ApiId"], mapping["Stage"],
                                   mapping.get("ApiMappingKey", ""))
        elif kind == "AWS::CloudFront::Distribution":
            config = cloud.client("cloudfront", region).get_distribution(Id=physical)
            distribution = config["Distribution"]
            for alias in distribution["DistributionConfig"].get("Aliases", {}).get("Items", []):
                found[alias] = ("site", distribution["DomainName"])
    return found
