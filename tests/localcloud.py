"""The local cloud for integration tests: started on a free loopback port, stopped by PID."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import boto3

from generator.build import synth
from generator.deploy import localcloud
from generator.deploy.afterdeploy import run_steps
from generator.deploy.cloud import Cloud, DeployError, Target
from generator.deploy.manifest import load_stacks
from generator.deploy.runner import Console, Deployer, Options

from .conftest import REPO, copy_sources


class LocalCloud:
    def __init__(self, workdir: Path, attempts: int = 3) -> None:
        # Test workers (pytest-xdist) start local clouds at the same time: a free port
        # can be taken by another one before MiniStack binds it, so try a fresh one.
        for attempt in range(attempts):
            self.port = localcloud.free_port()
            self.endpoint = localcloud.endpoint(self.port)
            try:
                self.pid = localcloud.start(self.port, str(workdir / "ministack.log"))
                return
            except DeployError:
                if attempt == attempts - 1:
                    raise

    def stop(self) -> None:
        localcloud.stop(self.pid)

    def client(self, service: str, region: str = "eu-west-1"):
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint,
                            aws_access_key_id="test", aws_secret_access_key="test")

    def listening_addresses(self) -> set[str]:
        """Local addresses of every listening TCP socket the local cloud holds."""
        inodes = set()
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        found = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    found.add(fields[1].split(":")[0])
        return found


def project(workdir: Path) -> Path:
    """A copy of the project with its zips built and a development CA."""
    root = copy_sources(workdir)
    synth(str(root), cache_path=None, run_lint=False)
    subprocess.run(["make", "-s", "-C", str(REPO), "ca", f"CA_DIR={root}/build/ca"],
                   check=True, capture_output=True)
    return root


def deploy(root: Path, cloud: LocalCloud, apps=None, options: Options | None = None,
           env: str = "dev", stages=None):
    """Deploy from root's build/; return (outcome, console text, the Cloud used)."""
    out = io.StringIO()
    target = Cloud(Target.local_cloud(cloud.endpoint))
    deployer = Deployer(str(root), target, Console(out), options or Options(yes=True),
                        run_steps)
    outcome = deployer.run(load_stacks(str(root), env, apps, stages))
    return outcome, out.getvalue(), target
