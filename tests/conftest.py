"""Shared fixtures: a small, valid project in a temporary folder, and a CLI runner."""

from __future__ import annotations

import hashlib
import os
import shutil
import textwrap
from dataclasses import dataclass
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
