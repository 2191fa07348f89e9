"""cfn-lint in-process: errors fail the synth with both positions, warnings do not,
results are cached, and parallel linting finds what serial linting finds."""

from __future__ import annotations

import subprocess
import sys

from generator.lint import LintJob, lint

from .conftest import tree_digest, write_files

BAD_RAW = """\
resources:
  Topic:
    kind: raw
    type: AWS::SNS::Topic
    properties:
      TopicNme: orders
"""

OBSOLETE_DEPENDS_ON = """\
resources:
  Queue:
    kind: raw
    type: AWS::SQS::Queue
  Other:
    kind: raw
    type: AWS::SQS::Queue
    depends_on: [Queue]
    properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt Queue.Arn, maxReceiveCount: 3}
"""


def test_lint_error_fails_synth_naming_template_and_blueprint(mini, cli):
    assert cli(mini, "synth").code == 0
    before = tree_digest(mini / "build")
    write_files(mini, {"blueprints/shop/03-topic.yaml": BAD_RAW})
    run = cli(mini, "synth")
    assert run.code == 1
    assert "error: blueprints/shop/03-topic.yaml:6:17: resources.Topic.properties.TopicNme: " \
           "Additional properties are not allowed ('TopicNme' was unexpected. Did you mean " \
           "'TopicName'?) (cfn-lint E3002) [template build/dev/shop/03-topic.yaml:7:7]\n" \
           "1 problem found; nothing was written" in run.err
    assert tree_digest(mini / "build") == before


def test_lint_warnings_are_shown_but_not_fatal(mini, cli):
    write_files(mini, {"blueprints/shop/03-queues.yaml": OBSOLETE_DEPENDS_ON})
    run = cli(mini, "synth")
    assert run.code == 0
    assert "build/dev/shop/03-queues.yaml" in run.out and "lint: 1 warning(s)" in run.out
    assert "warning blueprints/shop/03-queues.yaml:8:17: resources.Other.depends_on: 'Queue' " \
           "dependency already enforced" in run.err
    assert "(cfn-lint W3005) [template build/dev/shop/03-queues.yaml:" in run.err


def _cfnlint_imported(root) -> bool:
    code = ("import sys; from generator.build import synth; synth(sys.argv[1]); "
            "print('cfnlint' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(root)], check=True,
                          capture_output=True, text=True, cwd=root)
    return done.stdout.strip() == "True"


def test_unchanged_resynth_does_not_import_cfnlint(mini):
    assert _cfnlint_imported(mini) is True
    assert _cfnlint_imported(mini) is False
    write_files(mini, {"blueprints/shop/01-data.yaml": (mini / "blueprints/shop/01-data.yaml")
                       .read_text().replace("key: {id: S}", "key: {id: S}\n    ttl: expires")})
    assert _cfnlint_imported(mini) is True


def test_cache_reports_hits(mini, cli):
    first = cli(mini, "synth")
    second = cli(mini, "synth")
    assert "lint cache 0/2" in first.out and "lint cache 2/2" in second.out


def test_parallel_lint_finds_what_serial_lint_finds():
    bad = b"""AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Topic%d:
    Type: AWS::SNS::Topic
    Properties:
      TopicNme: x
"""
    jobs = [LintJob(f"t{i}.yaml", bad % i, "eu-west-1", {f"Topic{i}": None})
            for i in range(10)]
    serial, _ = lint(jobs, None, workers=1)
    parallel, _ = lint(jobs, None, workers=2)
    assert serial == parallel
    assert [f.rule for f in serial] == ["E3002"] * 10
