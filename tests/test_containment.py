"""Every file the tool reads or ships stays inside the project: links that leave it, dangle
or loop are located errors naming the link, and secrets are never shipped."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from generator.errors import GeneratorError
from generator.paths import PathError, check_shippable, resolve
from generator.site import render_site

from .conftest import MINI, tree_digest, write_files

CODE = "blueprints/shop/02-code.yaml"
SECRET = "canary: the secret outside the project\n"


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    """A file outside the project (which is tmp_path/project)."""
    path = tmp_path / "outside" / "credentials"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    write_files(target, MINI)
    return target


def synth_fails(cli, project: Path, expected: str) -> None:
    before = tree_digest(project / "build") if (project / "build").exists() else {}
    run = cli(project, "synth", "--no-lint")
    assert run.code == 1, run.out
    assert expected in run.err, run.err
    assert "Traceback" not in run.err and SECRET.strip() not in run.out + run.err
    after = tree_digest(project / "build") if (project / "build").exists() else {}
    assert after == before


def test_a_link_out_of_the_project_in_lambda_code_names_the_link(project, canary, cli):
    os.symlink(canary, project / "lambda_code/shop_worker/settings.txt")
    synth_fails(cli, project, f"error: {CODE}:5:11: resources.Worker.code: "
                "lambda_code/shop_worker/settings.txt is a link to "
                f"{canary}, outside the project")


def test_a_linked_folder_out_of_the_project_is_refused(project, canary, cli):
    os.symlink(canary.parent, project / "lambda_code/shop_worker/conf")
    synth_fails(cli, project, "lambda_code/shop_worker/conf is a link to")


def test_the_code_folder_itself_may_not_leave_the_project(project, canary, cli):
    code = project / "lambda_code/shop_worker"
    (code / "handler.py").rename(canary.parent / "handler.py")
    code.rmdir()
    os.symlink(canary.parent, code)
    synth_fails(cli, project, "lambda_code/shop_worker is a link to")


@pytest.mark.parametrize("shape,expected", [
    ("dangling", "lambda_code/shop_worker/gone.py is a link to nothing (it points at "),
    ("loop", "lambda_code/shop_worker/a.py is a loop of links"),
    ("ancestor", "lambda_code/shop_worker/up/up leads back to a folder above it"),
])
def test_broken_links_are_located_errors(project, cli, shape, expected):
    code = project / "lambda_code/shop_worker"
    if shape == "dangling":
        os.symlink(code / "missing.py", code / "gone.py")
    elif shape == "loop":
        os.symlink(code / "b.py", code / "a.py")
        os.symlink(code / "a.py", code / "b.py")
    else:
        (code / "up").mkdir()
        os.symlink(code, code / "up" / "up")
    synth_fails(cli, project, expected)


def test_links_inside_lambda_code_are_followed(project, cli):
    write_files(project, {"lambda_code/common/shared.py": "VALUE = 1\n"})
    os.symlink(project / "lambda_code/common/shared.py",
               project / "lambda_code/shop_worker/shared.py")
    run = cli(project, "synth", "--no-lint")
    assert run.code == 0, run.err
    (zip_path,) = (project / "build/assets").glob("*.zip")
    with zipfile.ZipFile(zip_path) as archive:
        assert archive.read("shared.py") == b"VALUE = 1\n"


@pytest.mark.parametrize("target,expected", [
    ("shared.py", "lambda_code/shop_worker/linked.py leads to shared.py, outside lambda_code/"),
    ("build/ca/RootCA.key", "leads to build/ca/RootCA.key, outside lambda_code/"),
    (".env", "leads to .env, outside lambda_code/"),
])
def test_links_out_of_lambda_code_are_refused_even_inside_the_project(project, cli, target,
                                                                      expected):
    write_files(project, {target: "AWS_SECRET_ACCESS_KEY=secret\n"})
    os.symlink(project / target, project / "lambda_code/shop_worker/linked.py")
    synth_fails(cli, project, expected)


def test_a_private_key_inside_an_innocent_name_is_never_packaged(project, cli):
    write_files(project, {"lambda_code/shop_worker/server.pem":
                          "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"})
    synth_fails(cli, project, "lambda_code/shop_worker/server.pem cannot be shipped: it "
                              "holds a private key")


def test_a_secret_named_file_is_never_packaged(project, cli):
    write_files(project, {"lambda_code/shop_worker/.env.production": "TOKEN=x\n",
                          "lambda_code/shop_worker/conf/credentials": "[default]\n"})
    synth_fails(cli, project, "lambda_code/shop_worker/conf/credentials cannot be shipped")


def test_a_private_key_is_never_packaged(project, cli):
    write_files(project, {"lambda_code/shop_worker/service.key": "secret\n"})
    synth_fails(cli, project, "lambda_code/shop_worker/service.key cannot be shipped: it is "
                              "lambda_code/shop_worker/service.key, and *.key files (private "
                              "keys and secrets) are never shipped")


@pytest.mark.parametrize("shape,expected", [
    ("link out", "blueprints/shop/03-more.yaml:1:1: blueprints/shop/03-more.yaml is a link "
                 "to"),
    ("dangling", "blueprints/shop/03-more.yaml:1:1: blueprints/shop/03-more.yaml is a link "
                 "to nothing"),
    ("loop", "blueprints/shop/03-more.yaml:1:1: blueprints/shop/03-more.yaml is a loop of "
             "links"),
    ("folder", "blueprints/shop/03-more.yaml:1:1: blueprints/shop/03-more.yaml is a folder, "
               "not a file"),
])
def test_stage_files_are_read_inside_the_project_only(project, canary, cli, shape, expected):
    stage = project / "blueprints/shop/03-more.yaml"
    if shape == "link out":
        os.symlink(canary, stage)
    elif shape == "dangling":
        os.symlink(project / "nowhere.yaml", stage)
    elif shape == "loop":
        os.symlink(stage, stage)
    else:
        stage.mkdir()
    synth_fails(cli, project, f"error: {expected}")


def test_a_site_asset_linking_out_is_refused(project, canary):
    write_files(project, {"site_assets/shop/index.html": "<h1>hi</h1>\n"})
    os.symlink(canary, project / "site_assets/shop/style.css")
    with pytest.raises(GeneratorError, match="site_assets/shop/style.css is a link to"):
        render_site(str(project), "site_assets/shop", {})


def step_stage(step: str) -> str:
    return ("resources:\n  Site:\n    kind: bucket\noutputs:\n  Name: !Ref Site\n"
            "after_deploy:\n" + step)


@pytest.mark.parametrize("step,expected", [
    ("  - upload_file: {file: build/ca/RootCA.key, bucket: !Output more.Name, key: k}\n",
     "7:25: after_deploy[0].upload_file.file: build/ca/RootCA.key can never be uploaded: "
     "*.key files (private keys and secrets) are never shipped"),
    ("  - upload_file: {file: .git/config, bucket: !Output more.Name, key: k}\n",
     "7:25: after_deploy[0].upload_file.file: .git/config can never be uploaded: files "
     "under .git/ are never shipped"),
    ("  - upload_file: {file: .venv/pyvenv.cfg, bucket: !Output more.Name, key: k}\n",
     "7:25: after_deploy[0].upload_file.file: .venv/pyvenv.cfg can never be uploaded: "
     "files under .venv/ are never shipped"),
    ("  - upload_file: {file: blueprints/shop/app.yaml, bucket: !Output more.Name, key: k}\n",
     "7:25: after_deploy[0].upload_file.file: only files under site_assets/ and public "
     "certificates (.pem, .crt, .cer) can be uploaded, got blueprints/shop/app.yaml"),
    ("  - publish_site: {source: build/ca, bucket: !Output more.Name}\n",
     "7:28: after_deploy[0].publish_site.source: a site is published from a folder under "
     "site_assets/, got build/ca"),
    ("  - publish_site: {source: site_assets/shop, bucket: someone-elses-bucket}\n",
     "7:54: after_deploy[0].publish_site.bucket: the bucket should be an output of this app "
     "(!Output <stage>.<Name>); to upload to a bucket outside the app on purpose, add "
     "`external: true`"),
    ("  - publish_site: {source: site_assets/nothing, bucket: !Output more.Name}\n",
     "7:28: after_deploy[0].publish_site.source: site_assets/nothing does not exist"),
])
def test_after_deploy_steps_ship_only_allowed_files(project, cli, step, expected):
    write_files(project, {"site_assets/shop/index.html": "<h1>hi</h1>\n",
                          "blueprints/shop/03-more.yaml": step_stage(step)})
    synth_fails(cli, project, f"error: blueprints/shop/03-more.yaml:{expected}")


def test_an_external_bucket_is_allowed_when_said_on_purpose(project, cli):
    write_files(project, {"site_assets/shop/index.html": "<h1>hi</h1>\n",
                          "blueprints/shop/03-more.yaml": step_stage(
                              "  - publish_site: {source: site_assets/shop, bucket: shared, "
                              "external: true}\n")})
    run = cli(project, "synth", "--no-lint")
    assert run.code == 0, run.err


def test_a_published_site_may_not_hold_a_link_out(project, canary, cli):
    write_files(project, {"site_assets/shop/index.html": "<h1>hi</h1>\n",
                          "blueprints/shop/03-more.yaml": step_stage(
                              "  - publish_site: {source: site_assets/shop, "
                              "bucket: !Output more.Name}\n")})
    os.symlink(canary, project / "site_assets/shop/notes.txt")
    synth_fails(cli, project, "7:28: after_deploy[0].publish_site.source: "
                              "site_assets/shop/notes.txt is a link to")


def test_a_certificate_file_holding_a_private_key_is_not_uploaded():
    check_shippable("build/ca/RootCA.pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n")
    with pytest.raises(PathError, match="holds a private key"):
        check_shippable("build/ca/RootCA.pem", b"-----BEGIN CERTIFICATE-----\n"
                                               b"-----BEGIN EC PRIVATE KEY-----\nMHc\n")


def test_resolve_refuses_paths_that_climb_out(tmp_path, canary):
    project = tmp_path / "p"
    project.mkdir()
    os.symlink(canary.parent, project / "link")
    with pytest.raises(PathError, match="link is a link to"):
        resolve(str(project), "link/credentials")


def test_a_manifest_cannot_point_a_deploy_outside_the_project(tmp_path, canary):
    from generator.deploy.manifest import load_stacks

    project = tmp_path / "p"
    write_files(project, {"build/dev/shop/manifest.json": (
        '{"format": 1, "app": "shop", "env": "dev", "region": "eu-west-1", "stacks": '
        '[{"stage": "data", "stack_name": "shop-dev-data", "region": "eu-west-1", '
        '"template": "../../../../outside/credentials", "template_sha256": "x", '
        '"depends_on": [], "parameters": {}, "assets": [], "after_deploy": []}]}')})
    with pytest.raises(GeneratorError, match="outside/credentials is outside the project"):
        load_stacks(str(project), "dev", None)


SITE_LEAKS = {
    "a hidden link to the project root": (
        {".r": "../.."}, "<pre>{% include '.r/build/ca/RootCA.key' %}</pre>",
        "{% include %} of '.r/build/ca/RootCA.key': only files of the site folder"),
    "a partial linked to a secret": (
        {"_env.html": "../../.env"}, "<pre>{% include '_env.html' %}</pre>",
        "site_assets/shop/_env.html leads to .env, outside site_assets/shop/"),
    "a partial linked out of the site": (
        {"_app.html": "../../blueprints/shop/app.yaml"}, "{% include '_app.html' %}",
        "site_assets/shop/_app.html leads to blueprints/shop/app.yaml, outside "
        "site_assets/shop/"),
    "a page holding a private key": (
        {}, "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", "holds a private key"),
}


@pytest.mark.parametrize("case", SITE_LEAKS, ids=str)
def test_a_published_site_never_carries_a_secret(project, cli, case):
    links, page, expected = SITE_LEAKS[case]
    write_files(project, {".env": "AWS_SECRET_ACCESS_KEY=secret\n",
                          "site_assets/shop/index.html": page + "\n",
                          "blueprints/shop/03-more.yaml": step_stage(
                              "  - publish_site: {source: site_assets/shop, "
                              "bucket: !Output more.Name}\n")})
    for name, target in links.items():
        os.symlink(target, project / "site_assets/shop" / name)
    synth_fails(cli, project, expected)
    with pytest.raises(GeneratorError) as raised:
        render_site(str(project), "site_assets/shop", {})
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize("link", ["../.git/config", "../build/ca/RootCA.key"])
def test_an_upload_cannot_rename_a_secret_into_a_public_file(project, cli, link):
    write_files(project, {".git/config": "[remote]\n", "build/ca/RootCA.key": "k\n",
                          "blueprints/shop/03-more.yaml": step_stage(
                              "  - upload_file: {file: site_assets/logo.pem, "
                              "bucket: !Output more.Name, key: logo.pem}\n")})
    (project / "site_assets").mkdir(exist_ok=True)
    os.symlink(link, project / "site_assets/logo.pem")
    synth_fails(cli, project, "7:25: after_deploy[0].upload_file.file: site_assets/logo.pem "
                              "cannot be shipped: it is ")


@pytest.mark.parametrize("linked", ["build/dev/shop", "build/dev", "build/assets"])
def test_synth_never_writes_or_deletes_through_a_linked_build_folder(project, tmp_path,
                                                                     cli, linked):
    outside = tmp_path / "victim"
    write_files(outside, {"victim.json": "{}\n", "victim.yaml": "a: 1\n",
                          "manifest.json": "{}\n"})
    before = tree_digest(outside)
    target = project / linked
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, target)
    run = cli(project, "synth", "--no-lint")
    assert run.code == 1
    assert f"error: {linked} is a link (to {outside}); synth writes only into real folders " \
           "of the project" in run.err
    assert tree_digest(outside) == before


def test_a_stage_file_linked_to_a_secret_in_the_project_is_refused_unread(project, cli):
    write_files(project, {".env": "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\n"})
    os.symlink(project / ".env", project / "blueprints/shop/03-more.yaml")
    run = cli(project, "synth", "--no-lint")
    assert run.code == 1
    assert "blueprints/shop/03-more.yaml leads to .env, outside blueprints/" in run.err
    assert "wJalrXUtnFEMI" not in run.err + run.out


def test_a_long_wrong_value_is_cut_short_in_errors(mini, cli):
    write_files(mini, {"blueprints/shop/03-more.yaml":
                       "resources:\n  T:\n    kind: table\n    key: {id: S}\n"
                       f"    billing: {'x' * 500}\n"})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1 and "x" * 100 not in run.err and "(502 characters)" in run.err
