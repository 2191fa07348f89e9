"""What a deployed URL output is called on the local cloud.

On AWS, `ApiUrl` names a custom domain and `CustomersUrl` an execute-api host; neither
resolves here. The local cloud serves APIs at `<endpoint>/_aws/execute-api/<id>/<stage>`.
A site is given as its bucket, path-style, on `http://localhost:<port>`: the local cloud's
CloudFront front door redirects to https (which it does not serve) and evaluates the
bucket's TLS-only policy as if the origin fetch were plain http, so it refuses. The host
`localhost` (not 127.0.0.1) keeps the page's origin different from the API's, so the
browser really makes cross-origin requests, as it does on AWS. The rewrite keeps the
output's key.
"""

from __future__ import annotations

import re
import urllib.parse

from .cloud import Cloud

# Every form an API's URL takes: AWS's regional host (also .amazonaws.com.cn), and the
# local cloud's own `ApiEndpoint` (`http://<id>.execute-api.localhost:<port>`).
EXECUTE_API = re.compile(r"([a-z0-9]+)\.execute-api\.(?:[a-z0-9-]+\.amazonaws\.com(?:\.cn)?"
                         r"|localhost)")
DISTRIBUTION = re.compile(r"[a-z0-9]+\.cloudfront\.net")
BARE_HOST = re.compile(r"[a-z0-9.-]+\.(?:amazonaws\.com(?:\.cn)?|cloudfront\.net|localhost)"
                       r"(?::\d+)?(?:/\S*)?")


def local_outputs(cloud: Cloud, stack: str, region: str, outputs: dict) -> dict:
    """Outputs with every URL this machine cannot call replaced by the local one."""
    rewritten = {}
    domains = None
    for key, value in outputs.items():
        url = _url(value)
        if url is None:
            rewritten[key] = value
            continue
        if domains is None:
            domains = _domains(cloud, stack, region)
        rewritten[key] = _rewrite(cloud.target.endpoint, url, domains) or value
    return rewritten


def _url(value):
    """An output as a URL when it is one (a bare AWS host counts: https is meant)."""
    if not isinstance(value, str):
        return None
    if BARE_HOST.fullmatch(value):
        value = f"https://{value}"
    url = urllib.parse.urlparse(value)
    return url if url.scheme in ("http", "https") and url.hostname else None


def _rewrite(endpoint: str, url, domains: dict) -> str | None:
    """The local URL for one deployed URL; None when it is callable as it is."""
    found = EXECUTE_API.fullmatch(url.hostname)
    if found:
        return f"{endpoint}/_aws/execute-api/{found.group(1)}{url.path}"
    if url.scheme == "http":
        return None
    target = domains.get(url.hostname)
    if target is None:
        return None
    if target[0] == "api":
        _, api_id, stage, mapping = target
        path = url.path
        if mapping and path.startswith("/" + mapping):
            path = path[len(mapping) + 1:]
        return f"{endpoint}/_aws/execute-api/{api_id}/{stage}{path}"
    _, bucket, index = target
    port = urllib.parse.urlparse(endpoint).port
    path = url.path.lstrip("/") or index
    return f"http://localhost:{port}/{bucket}/{path}"


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
            settings = config["Distribution"]["DistributionConfig"]
            origin = settings["Origins"]["Items"][0]["DomainName"].split(".s3.")[0]
            site = ("site", origin, settings.get("DefaultRootObject", ""))
            for alias in settings.get("Aliases", {}).get("Items", []):
                found[alias] = site
            found[config["Distribution"].get("DomainName") or
                  f"{physical.lower()}.cloudfront.net"] = site
    return found
