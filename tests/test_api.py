"""The public API (`import generator`): the same pipeline as the CLI, results as data."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest

import generator

from .conftest import MINI, REPO
from .localcloud import LocalCloud

FILES = {path: textwrap.dedent(text) for path, text in MINI.items()}


def test_the_public_names_are_documented_and_importable():
    for name in generator.__all__:
        value = getattr(generator, name)
        assert value is not None
        if callable(value) and not isinstance(value, type):
            assert value.__doc__, f"generator.{name} has no docstring"
    assert (REPO / "generator" / "py.typed").is_file()
    with pytest.raises(AttributeError):
        generator.not_a_name  # noqa: B018


def test_synth_of_a_folder_in_memory_matches_the_committed_build():
    result = generator.synthesize(str(REPO), ["dev"], ["customers"], lint=False)
    assert result.written == []
    assert result.templates
    for path, text in result.templates.items():
        assert (REPO / path).read_text() == text
    manifest = result.manifests["build/dev/customers/manifest.json"]
    assert [s["stage"] for s in manifest["stacks"]][0] == "key"


def test_synth_from_strings_writes_nothing_and_lints(tmp_path):
    result = generator.synthesize(files=FILES)
    assert sorted(result.templates) == ["build/dev/shop/01-data.yaml",
                                        "build/dev/shop/02-code.yaml"]
    assert "AWS::DynamoDB::Table" in result.templates["build/dev/shop/01-data.yaml"]
    assert result.findings == []
    assert generator.lint_templates(files=FILES) == []


def test_blueprints_may_be_plain_data():
    files = dict(FILES)
    files["blueprints/shop/01-data.yaml"] = {
        "resources": {"Orders": {"kind": "table", "key": {"id": "S"}}},
        "outputs": {"TableArn": "!GetAtt Orders.Arn"}}
    del files["blueprints/shop/02-code.yaml"]
    (app,) = generator.load(files=files)
    assert app.name == "shop" and list(app.stages) == ["data"]


def test_invalid_blueprints_raise_located_problems():
    files = dict(FILES)
    files["blueprints/shop/01-data.yaml"] = "resources:\n  Orders:\n    kind: tabel\n"
    with pytest.raises(generator.BlueprintError) as caught:
        generator.load(files=files)
    problem = caught.value.problems[0]
    assert str(problem).startswith("blueprints/shop/01-data.yaml:3:")
    assert "did you mean 'table'" in str(problem)


def test_in_memory_files_stay_inside_the_project():
    with pytest.raises(ValueError, match="inside the project"):
        generator.synthesize(files={"../escape.yaml": "x"})
    with pytest.raises(ValueError, match="memory only"):
        generator.synthesize(files=FILES, write=True)


def test_synth_writes_build_when_asked(mini):
    result = generator.synthesize(str(mini), write=True)
    assert "build/dev/shop/manifest.json" in result.written
    manifest = json.loads((mini / "build/dev/shop/manifest.json").read_text())
    assert manifest == result.manifests["build/dev/shop/manifest.json"]


@pytest.mark.slow
def test_plan_and_deploy_on_the_local_cloud_return_data(mini, tmp_path_factory):
    generator.synthesize(str(mini), write=True, lint=False)
    cloud = LocalCloud(tmp_path_factory.mktemp("ministack"))
    try:
        out = io.StringIO()
        planned = generator.plan(str(mini), "dev", endpoint=cloud.endpoint, out=out)
        assert planned.exit_code == 0
        assert planned.results["shop-dev-data"].startswith("planned")
        done = generator.apply(str(mini), "dev", endpoint=cloud.endpoint, yes=True,
                                out=out)
        assert done.exit_code == 0, done.failures
        assert set(done.outputs["shop-dev-data"]) == {"TableArn", "TableName"}
        found = generator.outputs(str(mini), "dev", endpoint=cloud.endpoint)
        assert found["shop-dev-data"] == done.outputs["shop-dev-data"]
        again = generator.plan(str(mini), "dev", endpoint=cloud.endpoint, out=out)
        assert again.results["shop-dev-code"] == "unchanged"
    finally:
        cloud.stop()


def test_the_cli_goes_through_the_api(mini, cli, monkeypatch):
    seen = []
    real = generator.synthesize

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr("generator.api.synthesize", spy)
    assert cli(Path(mini), "synth", "--no-lint").code == 0
    assert [{k: v for k, v in s.items() if k != "progress"} for s in seen] == [
        {"lint": False, "write": True}]
