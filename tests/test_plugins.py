"""Plugin kinds: a project's declared kinds/ folder and installed packages' entry points
work like built-in kinds; nothing a blueprint says loads code; faults are clear errors."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import generator
from generator.plugins import activate

from .conftest import REPO, write_files

QUEUE_KIND = '''\
from dataclasses import dataclass

from troposphere import sqs

from generator import Kind, field
from generator.spec import Int


@dataclass(frozen=True)
class QueueSpec:
    retention: int = field(Int(60, 1_209_600), "seconds a message is kept", 345_600)


def build(b, resource):
    b.add(resource, sqs.Queue(resource.logical_id,
                              MessageRetentionPeriod=resource.spec.retention,
                              SqsManagedSseEnabled=True))


KIND = Kind(name="mailbox", description="SQS queue", spec=QueueSpec, build=build,
            attributes=frozenset({"Arn", "QueueName"}), service="sqs",
            access_levels={"send": ("sqs:SendMessage", "sqs:GetQueueUrl")})
'''

PROJECT = {
    "pyproject.toml": '[tool.generator]\nkinds = ["kinds"]\n',
    "kinds/queue.py": QUEUE_KIND,
    "blueprints/shop/app.yaml": """\
        version: 1
        name: shop
        environments:
          dev: {region: eu-west-1}
        """,
    "blueprints/shop/01-queue.yaml": """\
        resources:
          Orders:
            kind: mailbox
            retention: 3600
        outputs:
          QueueArn: !GetAtt Orders.Arn
        """,
    "blueprints/shop/02-code.yaml": """\
        resources:
          Worker:
            kind: function
            code: shop_worker
            access:
              - {resource: !Output queue.QueueArn, allow: [send]}
        """,
    "lambda_code/shop_worker/handler.py": """\
        def handler(event, context):
            return {"statusCode": 200}
        """,
}


@pytest.fixture(autouse=True)
def _back_to_the_repo():
    """Later tests see only the built-in kinds again."""
    yield
    activate(str(REPO))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_files(tmp_path, PROJECT)
    return tmp_path


def test_a_project_kind_synthesizes_like_a_built_in_one(project, cli):
    run = cli(project, "synth")
    assert run.code == 0, run.err
    assert "plugin kinds: mailbox (kinds/queue.py)" in run.out
    queue = (project / "build/dev/shop/01-queue.yaml").read_text()
    assert "AWS::SQS::Queue" in queue and "MessageRetentionPeriod: 3600" in queue
    code = (project / "build/dev/shop/02-code.yaml").read_text()
    assert "sqs:SendMessage" in code and "sqs:GetQueueUrl" in code
    schema = json.loads((project / "build/schema/blueprint.schema.json").read_text())
    assert "mailbox" in json.dumps(schema)


def test_kinds_lists_a_plugin_kind_with_its_origin(project, cli):
    run = cli(project, "kinds")
    assert run.out.splitlines()[list(generator.registry()).index("mailbox")].startswith(
        "mailbox")
    assert "plugin kinds: mailbox (kinds/queue.py)" in run.out
    assert "a plugin kind, from kinds/queue.py" in cli(project, "kinds", "mailbox").out


def test_plugin_kinds_are_checked_like_built_in_ones(project, cli):
    write_files(project, {"blueprints/shop/01-queue.yaml": """\
        resources:
          Orders:
            kind: mailbox
            retension: 3600
        """})
    run = cli(project, "synth")
    assert run.code == 1
    assert "blueprints/shop/01-queue.yaml:4:5" in run.err and "retention" in run.err


def test_the_policy_guard_reads_what_a_plugin_kind_builds(project, cli):
    wide = QUEUE_KIND.replace('("sqs:SendMessage", "sqs:GetQueueUrl")', '("sqs:*",)')
    write_files(project, {"kinds/queue.py": wide})
    run = cli(project, "synth")
    assert run.code == 1 and "sqs:*" in run.err and "Traceback" not in run.err


def test_an_undeclared_kinds_folder_is_never_loaded(project, cli):
    marker = project / "ran"
    write_files(project, {
        "pyproject.toml": "[project]\nname = 'shop'\n",
        "kinds/queue.py": f"open({str(marker)!r}, 'w').close()\n" + QUEUE_KIND})
    run = cli(project, "synth")
    assert run.code == 1 and "unknown kind 'mailbox'" in run.err
    assert not marker.exists()


@pytest.mark.parametrize("source, said", [
    ("raise RuntimeError('no network here')\n",
     "kinds/queue.py could not be loaded: RuntimeError: no network here (line 1)"),
    ("KIND = 3\n", "kinds/queue.py defines no kind"),
    (QUEUE_KIND.replace('name="mailbox"', 'name="table"'),
     "kinds/queue.py: a kind named 'table' is built in"),
    ("def broken(:\n", "kinds/queue.py could not be loaded: SyntaxError"),
])
def test_broken_plugins_are_one_clear_error(project, cli, source, said):
    write_files(project, {"kinds/queue.py": source})
    run = cli(project, "synth")
    assert run.code == 1 and said in run.err, run.err
    assert "Traceback" not in run.err and "internal error" not in run.err


def test_two_plugin_kinds_of_one_name_clash(project, cli):
    write_files(project, {"kinds/queue2.py": QUEUE_KIND})
    run = cli(project, "synth")
    assert run.code == 1
    assert "two plugin kinds are named 'mailbox': kinds/queue.py and kinds/queue2.py" in run.err


def test_a_declared_folder_must_be_inside_the_project(project, cli):
    write_files(project, {"pyproject.toml": '[tool.generator]\nkinds = ["../elsewhere"]\n'})
    run = cli(project, "synth")
    assert run.code == 1 and "not a folder inside the project" in run.err


def test_an_installed_package_provides_kinds_through_its_entry_point(tmp_path, monkeypatch):
    """A package on sys.path with its dist-info, as pip would install it: nothing global."""
    site = tmp_path / "site"
    write_files(site, {
        "sqs_kinds/__init__.py": QUEUE_KIND,
        "sqs_kinds-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: sqs-kinds\n"
                                            "Version: 1.0\n",
        "sqs_kinds-1.0.dist-info/entry_points.txt": "[generator.kinds]\nmailbox = sqs_kinds\n",
    })
    monkeypatch.syspath_prepend(str(site))
    files = {path: textwrap.dedent(text) for path, text in PROJECT.items()
             if not path.startswith(("kinds/", "pyproject"))}
    result = generator.synthesize(files=files)
    assert "AWS::SQS::Queue" in result.templates["build/dev/shop/01-queue.yaml"]
    origins = activate(str(tmp_path))
    assert origins == {"mailbox": "entry point sqs_kinds (sqs-kinds 1.0)"}
