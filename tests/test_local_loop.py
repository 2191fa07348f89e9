"""The local loop: the right environment by default, callable URLs, a reused local cloud,
hints that reach the local cloud, quiet closed pipes, an uncallable API warned about."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import textwrap
import urllib.parse

import pytest

import generator
from generator.deploy import localcloud
from generator.deploy.clean import Retained
from generator.deploy.commands import default_env, remember_env
from generator.deploy.localurls import _rewrite, _url
from generator.synthwarnings import SynthWarning

from .conftest import MINI, REPO, write_files
from .localcloud import LocalCloud

LOCAL = "http://127.0.0.1:4570"
SITE = ("site", "raffle-site-bucket", "apply.html")


def local_url(value: str, domains: dict | None = None) -> str:
    url = _url(value)
    return (_rewrite(LOCAL, url, domains or {}) if url else None) or value


@pytest.mark.parametrize("deployed, local", [
    ("https://abc123.execute-api.eu-west-1.amazonaws.com/dev/customers",
     f"{LOCAL}/_aws/execute-api/abc123/dev/customers"),
    ("https://abc123.execute-api.eu-west-1.amazonaws.com",
     f"{LOCAL}/_aws/execute-api/abc123"),
    ("abc123.execute-api.eu-west-1.amazonaws.com",
     f"{LOCAL}/_aws/execute-api/abc123"),
    ("https://abc123.execute-api.cn-north-1.amazonaws.com.cn/prod/x",
     f"{LOCAL}/_aws/execute-api/abc123/prod/x"),
    ("http://abc123.execute-api.localhost:4570", f"{LOCAL}/_aws/execute-api/abc123"),
    ("http://abc123.execute-api.localhost:4570/dev/count",
     f"{LOCAL}/_aws/execute-api/abc123/dev/count"),
    ("https://d111abcdef8.cloudfront.net/", "http://localhost:4570/raffle-site-bucket/apply.html"),
    ("d111abcdef8.cloudfront.net", "http://localhost:4570/raffle-site-bucket/apply.html"),
    ("https://areulucky.local/draw.html", "http://localhost:4570/raffle-site-bucket/draw.html"),
    ("https://api.areulucky.local/raffle/count",
     f"{LOCAL}/_aws/execute-api/api1/local/count"),
    (f"{LOCAL}/_aws/execute-api/abc/dev", f"{LOCAL}/_aws/execute-api/abc/dev"),
    ("dynamodb-table-lottery", "dynamodb-table-lottery"),
])
def test_every_url_form_becomes_a_callable_local_url(deployed, local):
    domains = {"d111abcdef8.cloudfront.net": SITE, "areulucky.local": SITE,
               "api.areulucky.local": ("api", "api1", "local", "raffle")}
    assert local_url(deployed, domains) == local
    assert urllib.parse.urlparse(local).hostname in (None, "127.0.0.1", "localhost") \
        or local == deployed


def _args(root, endpoint=None, env=None) -> argparse.Namespace:
    return argparse.Namespace(root=str(root), endpoint=endpoint, local=False, env=env)


def test_local_verbs_default_to_the_environment_deployed_there(tmp_path):
    assert default_env(_args(tmp_path)) == "dev"
    assert default_env(_args(tmp_path, LOCAL)) == "dev"    # nothing there (or no answer)
    (tmp_path / "build/local").mkdir(parents=True)
    remember_env(_args(tmp_path, LOCAL, env="local"))
    assert default_env(_args(tmp_path, LOCAL)) == "local"
    assert default_env(_args(tmp_path)) == "dev"          # AWS: never the local one
    remember_env(_args(tmp_path, LOCAL, env="dev"))
    assert default_env(_args(tmp_path, LOCAL)) == "dev"
    assert default_env(_args(tmp_path, "http://127.0.0.1:4599")) == "dev"


@pytest.mark.slow
def test_outputs_on_the_local_cloud_default_to_what_is_deployed_there(mini, cli):
    """`local` deployed by other means than this project's CLI is found on the cloud."""
    write_files(mini, {"blueprints/shop/app.yaml": """\
        version: 1
        name: shop
        environments:
          dev: {region: eu-west-1, values: {domain: shop.example}}
          local: {region: eu-west-1, local_only: true, values: {domain: shop.local}}
        """})
    generator.synthesize(str(mini), write=True, lint=False)
    cloud = LocalCloud(mini / "cloud")
    try:
        assert generator.apply(str(mini), "local", endpoint=cloud.endpoint, yes=True,
                               out=io.StringIO()).exit_code == 0
        run = cli(mini, "outputs", "--endpoint", cloud.endpoint)
        assert run.code == 0 and "shop-local-data" in run.out, run.err
        assert cli(mini, "deploy", "--endpoint", cloud.endpoint, "--yes").code == 0
        assert "shop-local-code" in cli(mini, "status", "--endpoint", cloud.endpoint).out
    finally:
        cloud.stop()


def test_clean_hints_for_the_local_cloud_say_where_it_is():
    kept = Retained("raffle-local-table", "Entries", "AWS::DynamoDB::Table",
                    "dynamodb-table-lottery", "eu-west-1")
    assert kept.how_to_delete == ("aws dynamodb delete-table --table-name "
                                  "dynamodb-table-lottery --region eu-west-1")
    assert kept.command(LOCAL).endswith(f"--region eu-west-1 --endpoint-url {LOCAL}")


def test_a_closed_pipe_ends_quietly():
    reader = subprocess.Popen([sys.executable, "-m", "generator", "--root", str(REPO),
                               "graph", "--env", "dev"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert reader.stdout.readline() == b"flowchart LR\n"
    reader.stdout.close()
    assert reader.wait(timeout=60) == 0
    assert reader.stderr.read() == b""


API_STAGE = """\
    resources:
      Api:
        kind: http_api
        execute_api_endpoint: {open}
        routes:
          GET /x: !Output code.WorkerArn
    """


@pytest.mark.parametrize("is_open", [False, True])
def test_an_http_api_nobody_can_call_is_a_synth_warning(is_open):
    files = {path: textwrap.dedent(text) for path, text in MINI.items()}
    files["blueprints/shop/02-code.yaml"] += "outputs:\n  WorkerArn: !GetAtt Worker.Arn\n"
    files["blueprints/shop/03-api.yaml"] = textwrap.dedent(API_STAGE).format(
        open=str(is_open).lower())
    result = generator.synthesize(files=files, lint=False)
    warnings = [f for f in result.findings if isinstance(f, SynthWarning)]
    if is_open:
        assert warnings == []
        return
    (warning,) = warnings
    assert str(warning).startswith("blueprints/shop/03-api.yaml:3:5: resources.Api: http_api "
                                   "Api cannot be called")
    assert not warning.is_error


def test_the_shipped_apps_have_no_uncallable_api():
    result = generator.synthesize(str(REPO), lint=False)
    assert [f for f in result.findings if isinstance(f, SynthWarning)] == []


@pytest.mark.slow
def test_local_up_reuses_the_cloud_it_started(tmp_path, cli):
    port = localcloud.free_port()
    first = cli(tmp_path, "local", "up", "--port", str(port))
    try:
        assert first.code == 0, first.err
        again = cli(tmp_path, "local", "up", "--port", str(port))
        assert again.code == 0 and "already up" in again.out and "reusing it" in again.out
        other = cli(tmp_path, "local", "up", "--port", str(localcloud.free_port()))
        assert other.code == 1 and f"LOCAL_PORT={port}" in other.err
    finally:
        assert "stopped" in cli(tmp_path, "local", "down").out


def test_make_local_honours_env_and_app():
    dry = subprocess.run(["make", "-n", "-C", str(REPO), "local", "ENV=dev", "APP=raffle",
                          "STAMP=/dev/null", "CA_DIR=/tmp"], capture_output=True, text=True)
    deploy = next(line for line in dry.stdout.splitlines() if " deploy " in line)
    assert "--env dev" in deploy and "--app raffle" in deploy


def test_make_local_clean_cleans_the_local_cloud_not_aws():
    dry = subprocess.run(["make", "-n", "-C", str(REPO), "local-clean", "ENV=dev",
                          "APP=raffle", "LOCAL_PORT=4999", "STAMP=/dev/null"],
                         capture_output=True, text=True)
    (clean,) = [line for line in dry.stdout.splitlines() if " clean " in line]
    assert "--endpoint http://127.0.0.1:4999 --env dev --app raffle" in clean
    assert "--yes" not in clean                  # it asks, as clean always does
