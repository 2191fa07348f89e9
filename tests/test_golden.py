"""Golden files: the shipped blueprints synthesize to exactly the committed build/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.build import synth

from .conftest import REPO, copy_sources, tree_digest

COMMITTED = ("build",)


def committed_outputs(root: Path) -> dict[str, bytes]:
    """Templates, manifests and the schema under build/ (not binaries)."""
    out = {}
    for path in sorted((root / "build").rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and path.suffix in (".yaml", ".json") \
                and relative.parts[1] not in ("assets", "e2e", "ca", "bench"):
            out[str(relative)] = path.read_bytes()
    return out


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    root = copy_sources(tmp_path_factory.mktemp("golden"))
    synth(str(root), cache_path=None)
    return root


def test_committed_templates_are_current(regenerated):
    expected = committed_outputs(regenerated)
    actual = committed_outputs(REPO)
    assert sorted(actual) == sorted(expected), "run `make synth` and commit build/"
    for name in expected:
        assert actual[name] == expected[name], f"{name} is stale: run `make synth`"


def test_every_stage_has_a_template(regenerated):
    stages = sorted(p for p in (REPO / "blueprints").rglob("[0-9][0-9]-*.yaml"))
    templates = [p for p in committed_outputs(REPO) if p.count("/") == 3
                 and p.endswith(".yaml")]
    assert len(templates) >= len(stages) > 0


def _synth_with_seed(root: Path, seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-m", "generator", "--root", str(root), "synth",
                    "--no-lint", "--quiet"], check=True, env=env, capture_output=True)


def test_output_does_not_depend_on_hash_seed(tmp_path):
    trees = []
    for seed in ("1", "4242"):
        root = copy_sources(tmp_path / seed)
        _synth_with_seed(root, seed)
        trees.append(tree_digest(root / "build"))
    assert trees[0] == trees[1]
    assert any(name.endswith(".zip") for name in trees[0]), "zips are part of the check"


def test_a_second_synth_writes_nothing(mini, cli):
    assert cli(mini, "synth").code == 0
    before = {p: p.stat().st_mtime_ns for p in (mini / "build").rglob("*") if p.is_file()}
    run = cli(mini, "synth")
    assert run.code == 0 and ", 0 file(s) written" in run.out
    after = {p: p.stat().st_mtime_ns for p in (mini / "build").rglob("*") if p.is_file()}
    assert before == after
