"""3 Musketeers files: what can be checked without a Docker engine (none runs here)."""

from __future__ import annotations

import re
import subprocess

import yaml

from .conftest import REPO

CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def test_compose_names_the_tools_service_and_passes_credentials_by_name():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    tools = compose["services"]["tools"]
    assert tools["build"] == "." and tools["working_dir"] == "/app"
    assert ".:/app" in tools["volumes"]
    for name in CREDENTIALS + ("AWS_PROFILE", "AWS_REGION", "ENV", "APP"):
        assert name in tools["environment"], name   # pass-through: a name with no value
    assert "VENV=/opt/venv" in tools["environment"]


def test_dockerfile_installs_through_the_make_target_and_bakes_no_secrets():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^RUN make install VENV=/opt/venv$", dockerfile, re.M)
    assert not re.search(r"^(ENV|ARG)\s+AWS_", dockerfile, re.M)
    assert "COPY Makefile setup.cfg pyproject.toml" in dockerfile


def test_the_install_target_the_image_uses_exists():
    done = subprocess.run(["make", "-n", "-C", str(REPO), "install", "VENV=/opt/venv"],
                          capture_output=True, text=True)
    assert done.returncode == 0
    assert "/opt/venv/bin/python -m pip install" in done.stdout
