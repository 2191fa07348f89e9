"""The one seam to AWS (or the local cloud): every boto3 call the deployer makes.

Clients are built by one factory (endpoint, credentials, standard retry mode for
throttling); `sleep` and `clock` are passed in so waits are testable. Every wait has a
limit and polls fast first (the local cloud finishes a stack in ~50 ms), backing off to
about 2 s. Nothing here decides anything: it asks, does and reports.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import urllib3
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from ..errors import GeneratorError
from .adopt import Existing
from .lookups import LOOKUPS
from .models import Change, StackState

STATE_TABLE = "blueprint-state"   # in the bootstrap stack: deploy locks, what clean kept
LOCAL_KEYS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
# The local cloud answers in milliseconds and never throttles: short timeouts and one
# retry name a dead or stalled endpoint in seconds. AWS keeps botocore's retries.
LOCAL_TIMEOUTS = {"connect_timeout": 2, "read_timeout": 5, "retries": {"mode": "standard",
                                                                       "max_attempts": 2}}
AWS_TIMEOUTS = {"connect_timeout": 10, "read_timeout": 60, "retries": {"mode": "standard",
                                                                       "max_attempts": 8}}
NETWORK_FAULTS = {EndpointConnectionError: "connection refused or unreachable",
                  ConnectTimeoutError: "no connection within the timeout",
                  ReadTimeoutError: "no answer within the timeout",
                  ConnectionClosedError: "the connection was closed"}
NO_CREDENTIALS = ("no AWS credentials found: set AWS_PROFILE (or run `aws sso login`, or "
                  "export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); to work on the local "
                  "cloud instead, add --local")
# credentials that are there but cannot be used: a half-set pair, a profile that is not
# in the config, an expired SSO session (names looked up: botocore adds them over time)
CREDENTIAL_FAULTS = tuple(getattr(botocore.exceptions, name) for name in (
    "PartialCredentialsError", "ProfileNotFound", "CredentialRetrievalError",
    "SSOTokenLoadError", "UnauthorizedSSOTokenError", "TokenRetrievalError",
    "NoRegionError") if hasattr(botocore.exceptions, name))
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
          "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
          "UnrecognizedClientException", "SignatureDoesNotMatch"}
FIRST_POLL, MAX_POLL = 0.05, 2.0
READ_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup", "Validate")


class DeployError(GeneratorError):
    """A cloud operation failed; the message says what happened and what to do."""


@dataclass(frozen=True)
class Target:
    """Where stacks go: AWS through the normal credential chain, or the local cloud."""

    endpoint: str | None = None

    @property
    def local(self) -> bool:
        return self.endpoint is not None

    def check_answers(self, limit: float = 2.0) -> None:
        """For the local cloud: fail in seconds, naming the endpoint, when nothing
        answers there (rather than after botocore's retries)."""
        if not self.local:
            return
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            direct.open(self.endpoint + "/", timeout=limit).close()
        except urllib.error.HTTPError:
            return                      # it answered, if only with an error
        except (OSError, ValueError) as exc:
            timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc)
            cause = f"no answer within {limit:.0f} s" if timed_out else "connection refused"
            raise DeployError(self._dead(cause)) from None

    def _dead(self, cause: str) -> str:
        return (f"the local cloud at {self.endpoint} does not answer ({cause}): start it "
                "with `make local`, or pass the --endpoint it runs at")

    def explain(self, exc: Exception) -> str | None:
        """A network, credential or permission failure, said with where and what to
        do; None for anything else."""
        if isinstance(exc, NoCredentialsError):
            return NO_CREDENTIALS
        if isinstance(exc, CREDENTIAL_FAULTS):
            return (f"the AWS credentials cannot be used: {exc}; fix the profile or log in "
                    "again (`aws sso login`), or add --local for the local cloud")
        for kind, cause in NETWORK_FAULTS.items():
            if isinstance(exc, kind):
                if self.local:
                    return self._dead(cause)
                url = getattr(exc, "kwargs", {}).get("endpoint_url", "")
                region = (urllib.parse.urlparse(url).hostname or "").split(".")
                where = region[1] if len(region) > 3 else "?"
                return (f"AWS does not answer at {url} (region {where}): {cause}; check the "
                        "network, a proxy (HTTPS_PROXY) and the region, then run again")
        if isinstance(exc, ClientError) and \
                exc.response.get("Error", {}).get("Code") in DENIED:
            message = exc.response["Error"].get("Message", "")
            return (f"permission denied for {exc.operation_name}: {message}; the "
                    "credentials in use lack it: ask for that permission, or use other "
                    "credentials")
        return None

    @classmethod
    def local_cloud(cls, endpoint: str) -> Target:
        """The local cloud at `http://<loopback host>:<port>`, and nothing else.

        The URL must be exactly that form, so that no HTTP client can read another host
        out of it (a backslash, `user@`, a path or query are refused before any call)."""
        found = LOCAL_URL.fullmatch(endpoint)
        host = found.group("host").strip("[]") if found else ""
        if not found or not _is_loopback(host) or not 0 < int(found.group("port")) < 65536 \
                or urllib3.util.parse_url(endpoint).host.strip("[]") != host:
            raise DeployError(f"refusing the local endpoint {endpoint!r}: it must be "
                              "http://<host>:<port> with a host on this machine (127.0.0.1, "
                              "localhost or [::1]), e.g. http://127.0.0.1:4566")
        return cls(endpoint.rstrip("/"))


LOCAL_URL = re.compile(r"http://(?P<host>localhost|[0-9.]+|\[::1\]):(?P<port>[0-9]{1,5})/?")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


CREDENTIAL_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
                  "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                  "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_ENDPOINT_URL")


def isolate_from_real_credentials() -> None:
    """A local run must never find real credentials: drop every variable and file that
    could name them, for this process and the ones it starts."""
    without_credentials(os.environ)


def without_credentials(env) -> dict:
    """`env` (changed in place, and returned) with no way left to find real credentials:
    no credential or profile variables, config files that are empty, no instance metadata."""
    for name in CREDENTIAL_ENV:
        env.pop(name, None)
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def is_write(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


class Cloud:
    """boto3 clients per service and region, and the calls the deployer needs."""

    def __init__(self, target: Target, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, session: Any = None) -> None:
        self.target, self.sleep, self.clock = target, sleep, clock
        self._session = session
        if target.local:
            isolate_from_real_credentials()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.calls: list[str] = []
        self.state_calls: list[str] = []
        self.stopping = threading.Event()   # set on Ctrl-C: every wait gives up at once
        self._commit = threading.Lock()     # held around the check-and-execute

    # -- clients ------------------------------------------------------------------
    def client(self, service: str, region: str):
        """One client per service and region, made under a lock (sessions are not
        thread-safe), all from one session so service models load once."""
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._make(service, region)
            return self._clients[key]

    def _make(self, service: str, region: str):
        import boto3
        from botocore.config import Config

        # the local cloud is reached directly: an HTTP_PROXY in the environment must not
        # see (or redirect) its traffic
        config = Config(**(dict(LOCAL_TIMEOUTS, proxies={}) if self.target.local
                           else AWS_TIMEOUTS))
        if self._session is None:
            self._session = boto3.session.Session(**(LOCAL_KEYS if self.target.local else {}))
        if self.target.local:
            client = self._session.client(service, region_name=region, config=config,
                                          endpoint_url=self.target.endpoint, **LOCAL_KEYS)
        else:
            client = self._session.client(service, region_name=region, config=config)
        client.meta.events.register("before-parameter-build", self._record)
        return client

    def _record(self, model=None, params=None, **_: Any) -> None:
        """Count calls; those on the state table (lock, record of what clean kept)
        apart, since they change no stack and no data of the apps."""
        name = model.name if model else "?"
        if isinstance(params, dict) and params.get("TableName") == STATE_TABLE:
            self.state_calls.append(name)
        else:
            self.calls.append(name)

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if is_write(c)]

    def poll(self, what: str, check: Callable[[], Any], limit: float) -> Any:
        """Call `check` until it returns something truthy; fast first, then back off."""
        deadline, delay = self.clock() + limit, FIRST_POLL
        while True:
            if self.stopping.is_set():
                raise DeployError(f"interrupted while waiting for {what}; CloudFormation "
                                  "finishes what was started on its own: deploy again to "
                                  "pick up from there")
            result = check()
            if result:
                return result
            if self.clock() >= deadline:
                raise DeployError(f"gave up waiting after {limit:.0f} s for {what}; look "
                                  "at it in the console or with the AWS CLI, then rerun")
            self.sleep(delay)
            delay = min(MAX_POLL, delay * 1.6)

    # -- stacks -------------------------------------------------------------------
    def stack(self, name: str, region: str) -> StackState | None:
        cfn = self.client("cloudformation", region)
        try:
            found = cfn.describe_stacks(StackName=name)["Stacks"]
        except cfn.exceptions.ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        if not found:
            return None
        stack = found[0]
        return StackState(
            name, stack["StackStatus"],
            {t["Key"]: t["Value"] for t in stack.get("Tags", [])},
            {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])})

    def tagged_stacks(self, region: str, tags: dict[str, str]) -> list[StackState]:
        """Every live stack in a region carrying all of these tags."""
        cfn = self.client("cloudformation", region)
        found = []
        for page in cfn.get_paginator("describe_stacks").paginate():
            for stack in page["Stacks"]:
                have = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
                if all(have.get(k) == v for k, v in tags.items()) and \
                        stack["StackStatus"] != "DELETE_COMPLETE":
                    found.append(StackState(stack["StackName"], stack["StackStatus"], have))
        return found

    def resources(self, name: str, region: str) -> list[dict]:
        cfn = self.client("cloudformation", region)
        pages = cfn.get_paginator("list_stack_resources").paginate(StackName=name)
        return [r for page in pages for r in page["StackResourceSummaries"]]

    def template_body(self, name: str, region: str) -> str:
        cfn = self.client("cloudformation", region)
        return cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]

    def stale_change_sets(self, name: str, region: str, prefix: str) -> list[str]:
        cfn = self.client("cloudformation", region)
        try:
            summaries = cfn.list_change_sets(StackName=name)["Summaries"]
        except cfn.exceptions.ClientError:
            return []
        return [s["ChangeSetName"] for s in summaries if s["ChangeSetName"].startswith(prefix)
                and s.get("ExecutionStatus") != "EXECUTE_COMPLETE"]

    def create_change_set(self, name: str, region: str, change_set: str, kind: str,
                          template: dict, parameters: dict[str, str],
                          tags: dict[str, str], imports: list[dict] | None = None) -> None:
        """A change set; an IMPORT one names what it imports and carries no tags (an
        import may change nothing else; the following update sets them)."""
        cfn = self.client("cloudformation", region)
        extra = {"ResourcesToImport": imports} if imports else {
            "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
        cfn.create_change_set(
            StackName=name, ChangeSetName=change_set, ChangeSetType=kind,
            Parameters=[{"ParameterKey": k, "ParameterValue": v}
                        for k, v in sorted(parameters.items())],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"], **template, **extra)

    def wait_change_set(self, name: str, region: str, change_set: str,
                        limit: float = 600) -> tuple[str, str, list[Change]]:
        """(status, reason, changes) once the change set is ready or has failed."""
        cfn = self.client("cloudformation", region)

        def ready():
            found = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
            return found if found["Status"] in ("CREATE_COMPLETE", "FAILED") else None

        found = self.poll(f"change set {change_set} of {name}", ready, limit)
        changes = list(_changes(found.get("Changes", [])))
        pages = found
        while pages.get("NextToken"):
            pages = cfn.describe_change_set(StackName=name, ChangeSetName=change_set,
                                            NextToken=pages["NextToken"])
            changes += _changes(pages.get("Changes", []))
        return found["Status"], found.get("StatusReason", ""), changes

    def delete_change_set(self, name: str, region: str, change_set: str) -> None:
        self.client("cloudformation", region).delete_change_set(
            StackName=name, ChangeSetName=change_set)

    def execute_change_set(self, name: str, region: str, change_set: str) -> None:
        """The commit point: once `stop` has run, no change set is executed."""
        with self._commit:
            if self.stopping.is_set():
                raise DeployError(f"interrupted: change set {change_set} of {name} was not "
                                  "executed; deploy again to pick up from there")
            self.client("cloudformation", region).execute_change_set(
                StackName=name, ChangeSetName=change_set)

    def stop(self, limit: float = 0.5) -> None:
        """Stop executing and waiting. An execute call in flight gets `limit` seconds to
        return, so that afterwards it is settled whether it was sent."""
        held = self._commit.acquire(timeout=limit)
        self.stopping.set()
        if held:
            self._commit.release()

    def delete_stack(self, name: str, region: str) -> None:
        self.client("cloudformation", region).delete_stack(StackName=name)

    def events(self, name: str, region: str, seen: set[str]) -> list[dict]:
        """New stack events, oldest first (the first page holds the newest)."""
        cfn = self.client("cloudformation", region)
        try:
            page = cfn.describe_stack_events(StackName=name)["StackEvents"]
        except cfn.exceptions.ClientError:
            return []
        fresh = [e for e in page if e["EventId"] not in seen]
        seen.update(e["EventId"] for e in fresh)
        return list(reversed(fresh))

    def wait_stack(self, name: str, region: str, on_event: Callable[[dict], None],
                   seen: set[str], limit: float = 3600) -> str:
        """Watch a stack until it is no longer in progress; return its final status."""

        def settled():
            for event in self.events(name, region, seen):
                on_event(event)
            state = self.stack(name, region)
            if state is None:
                return "DELETE_COMPLETE"
            return None if state.status.endswith("_IN_PROGRESS") else state.status

        return self.poll(f"stack {name}", settled, limit)

    # -- resources that may exist already (adopt) -----------------------------------
    def existing(self, kind: str, name: str, region: str) -> Existing | None:
        """What holds this name now and which live stack owns it; None when nothing does."""
        found = LOOKUPS[kind](self.client, name, region)
        if found is None:
            return None
        identifier, tags = found
        return Existing(identifier, self._owner(identifier, tags, region))

    def _owner(self, identifier: str, tags: dict[str, str], region: str) -> str | None:
        """The live stack holding a resource: asked by physical id (AWS answers this for
        any stack), else from the aws:cloudformation tags CloudFormation puts on what it
        creates (the local cloud answers only that way), checked against that stack."""
        cfn = self.client("cloudformation", region)
        try:
            owned = cfn.describe_stack_resources(PhysicalResourceId=identifier)
            if owned.get("StackResources"):
                return owned["StackResources"][0]["StackName"]
        except ClientError as exc:      # "Stack for <id> does not exist": no stack holds
            if exc.response.get("Error", {}).get("Code") != "ValidationError":   # it by id
                raise
        stack = tags.get("aws:cloudformation:stack-name")
        if not stack or self.stack(stack, region) is None:
            return None
        held = {r["LogicalResourceId"]: r.get("PhysicalResourceId")
                for r in self.resources(stack, region)}
        return stack if held.get(tags.get("aws:cloudformation:logical-id")) == identifier \
            else None

    # -- other services -------------------------------------------------------------
    def object_exists(self, bucket: str, key: str, region: str) -> bool:
        s3 = self.client("s3", region)
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return True
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def object_etags(self, bucket: str, region: str) -> dict[str, str]:
        s3 = self.client("s3", region)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {o["Key"]: o["ETag"].strip('"') for page in pages for o in page.get("Contents", [])}

    def put_object(self, bucket: str, key: str, body: bytes, region: str, **extra: Any) -> None:
        self.client("s3", region).put_object(Bucket=bucket, Key=key, Body=body, **extra)

    def empty_bucket(self, bucket: str, region: str) -> int:
        """Delete every object version and delete marker; return how many."""
        s3 = self.client("s3", region)
        count = 0
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            for start in range(0, len(doomed), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start:start + 1000],
                                                         "Quiet": True})
            count += len(doomed)
        return count

    def hosted_zone_id(self, domain: str, create: bool) -> str | None:
        route53 = self.client("route53", "us-east-1")
        name = domain.rstrip(".") + "."
        zones = route53.list_hosted_zones_by_name(DNSName=name, MaxItems="1")["HostedZones"]
        if zones and zones[0]["Name"] == name:
            return zones[0]["Id"].split("/")[-1]
        if not create:
            return None
        made = route53.create_hosted_zone(Name=name, CallerReference=f"blueprint-{domain}")
        return made["HostedZone"]["Id"].split("/")[-1]


def _changes(raw: list[dict]):
    for item in raw:
        change = item.get("ResourceChange", {})
        properties = sorted({d.get("Target", {}).get("Name", "")
                             for d in change.get("Details", [])} - {""})
        yield Change(change.get("Action", ""), change.get("LogicalResourceId", ""),
                     change.get("ResourceType", ""), str(change.get("Replacement", "") or ""),
                     tuple(properties))

