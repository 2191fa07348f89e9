"""Shared fixtures: a small, valid project in a temporary folder, and a CLI runner."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import textwrap
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent

MINI = {
    "blueprints/shop/app.yaml": """\
        version: 1
        name: shop
        environments:
          dev:
            region: eu-west-1
            values:
              domain: shop.example
        """,
    "blueprints/shop/01-data.yaml": """\
        description: Orders table
        resources:
          Orders:
            kind: table
            key: {id: S}
        outputs:
          TableArn: !GetAtt Orders.Arn
          TableName: !Ref Orders
        """,
    "blueprints/shop/02-code.yaml": """\
        description: Order worker for {{ domain }}
        resources:
          Worker:
            kind: function
            code: shop_worker
            memory: 256
            environment:
              TABLE: !Output data.TableName
            access:
              - {resource: !Output data.TableArn, allow: [read]}
        """,
    "lambda_code/shop_worker/handler.py": """\
        def handler(event, context):
            return {"statusCode": 200}
        """,
}


@dataclass
class Run:
    code: int
    out: str
    err: str


def _running_in_group(group: int) -> list[int]:
    """Processes of a process group that still run (zombies, dead but not yet reaped by
    whoever inherited them, do not count: a container's init may never reap them)."""
    running = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue                      # gone meanwhile
        state, pgrp = fields[0], int(fields[2])
        if pgrp == group and state not in ("Z", "X"):
            running.append(int(entry.name))
    return running


def group_gone(group: int) -> bool:
    """No process of the group runs any more (killed ones take a moment to die)."""
    deadline = time.monotonic() + 10
    while _running_in_group(group):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under a folder with the sha256 of its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    write_files(tmp_path, MINI)
    return tmp_path


@pytest.fixture
def cli(capsys):
    def run(root: Path, *args: str) -> Run:
        code = main(["--root", str(root), *args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def copy_sources(dest: Path) -> Path:
    """The project's own blueprints and code, copied to dest, with an empty build/."""
    for folder in ("blueprints", "lambda_code", "site_assets"):
        if (REPO / folder).exists():
            shutil.copytree(REPO / folder, dest / folder,
                            ignore=shutil.ignore_patterns("__pycache__"))
    os.makedirs(dest / "build", exist_ok=True)
    return dest


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return copy_sources(tmp_path)


SHARED_FIXTURE = re.compile(r"""scope=["'](module|package|session)["']""")


@cache
def _shares_a_fixture(path: str) -> bool:
    """Whether a test file defines a fixture shared by its tests (a local cloud, a
    deployed site, a checkov run): read from its text, as the xdist controller does
    not collect tests itself."""
    try:
        return bool(SHARED_FIXTURE.search((REPO / path).read_text()))
    except OSError:
        return True


def pytest_xdist_make_scheduler(config, log):
    """`make test` runs pytest-xdist: the tests of a file that shares a fixture run on
    one worker, in file order, so it is set up once and tests building on the one before
    still do; every other test goes to whichever worker is free. (pytest-xdist's own
    `--dist loadgroup` cannot be used: its group marks are lost with pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByFixture(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if _shares_a_fixture(path) else nodeid

    return ByFixture(config, log) if config.getvalue("dist") == "load" else None
