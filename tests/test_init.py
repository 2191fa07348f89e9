"""`generator init`: a new project that synthesizes, tests and deploys as created."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import generator
from generator.deploy import localcloud


def make(folder: Path, *verbs: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(folder), *verbs,
                           f"PYTHON={sys.executable}"], capture_output=True, text=True,
                          timeout=timeout)


def test_init_makes_every_promised_file(tmp_path, cli):
    run = cli(tmp_path / "new-shop", "init", str(tmp_path / "new-shop"))
    assert run.code == 0, run.err
    made = {str(p.relative_to(tmp_path / "new-shop")) for p in (tmp_path / "new-shop")
            .rglob("*") if p.is_file()}
    assert made == {"blueprints/new-shop/app.yaml", "blueprints/new-shop/01-service.yaml",
                    "lambda_code/new_shop_save/handler.py", "tests/test_handler.py",
                    "Makefile", ".gitignore", "ci/run", "README.md", "build/.gitkeep"}
    assert os.access(tmp_path / "new-shop/ci/run", os.X_OK)
    (app,) = [a for a in generator.load(str(tmp_path / "new-shop")) if a.env.name == "local"]
    assert app.env.local_only


def test_a_new_project_s_make_help_reads_plainly_and_cleans_the_local_cloud(tmp_path, cli):
    assert cli(tmp_path / "shop", "init", str(tmp_path / "shop")).code == 0
    shown = make(tmp_path / "shop", "help").stdout
    assert "$(" not in shown                        # no make variable shown raw
    assert "local-clean" in shown and "not build/" in shown
    dry = subprocess.run(["make", "-n", "-C", str(tmp_path / "shop"), "local-clean",
                          "LOCAL_PORT=4999"], capture_output=True, text=True)
    assert "clean --endpoint http://127.0.0.1:4999 --env local" in dry.stdout


def test_init_refuses_a_folder_that_is_not_empty_and_never_overwrites(tmp_path, cli):
    (tmp_path / "Makefile").write_text("mine\n")
    run = cli(tmp_path, "init", str(tmp_path), "--name", "shop")
    assert run.code == 2 and "not empty" in run.err and "--force" in run.err
    run = cli(tmp_path, "init", str(tmp_path), "--name", "shop", "--force")
    assert run.code == 0 and "kept" in run.out
    assert (tmp_path / "Makefile").read_text() == "mine\n"
    assert (tmp_path / "blueprints/shop/app.yaml").is_file()


def test_the_app_name_comes_from_the_folder_or_must_be_valid(tmp_path, cli):
    assert generator.init(str(tmp_path / "My Shop_2")).app == "my-shop-2"
    run = cli(tmp_path, "init", str(tmp_path / "x"), "--name", "Shop!")
    assert run.code == 2 and "--name" in run.err


@pytest.mark.slow
def test_a_new_project_synthesizes_tests_and_deploys_locally(tmp_path):
    folder = tmp_path / "notes"
    assert generator.init(str(folder)).app == "notes"
    synth = make(folder, "synth")
    assert synth.returncode == 0, synth.stderr
    assert (folder / "build/local/notes/01-service.yaml").is_file()
    assert "MemorySize: 128" in (folder / "build/local/notes/01-service.yaml").read_text()
    tests = make(folder, "test")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    port = localcloud.free_port()
    try:
        local = make(folder, "local", f"LOCAL_PORT={port}")
        assert local.returncode == 0, local.stdout + local.stderr
        assert "notes-local-service" in local.stdout and "FunctionName" in local.stdout
    finally:
        down = make(folder, "local-down", timeout=60)
    assert "local cloud stopped" in down.stdout
