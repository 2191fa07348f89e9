"""Outside referees on the committed templates: checkov (every CloudFormation check) and
cfn-lint's informational rules. Nothing may fail, and every check checkov skips must be a
waiver a kind declares, with that kind's reason, so no finding goes unexplained.

checkov runs from its own virtualenv (`make test` fills it from requirements/referees.lock;
`REFEREES` names it), since its pins clash with ours.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator.kinds import registry

from .conftest import REPO
from .templates import all_templates

REFEREES = Path(os.environ.get("REFEREES", REPO / ".venv-referees"))
WAIVED = {(w.check, w.reason) for kind in registry().values() for w in kind.waivers}

UNEXPLAINED = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Loose:
    Type: AWS::S3::Bucket
    Metadata:
      checkov:
        skip:
        - {id: CKV_AWS_18, comment: trust me}
  Forgotten:
    Type: AWS::Logs::LogGroup
"""


def checkov(folder: Path) -> dict:
    program = REFEREES / "bin" / "checkov"
    assert program.exists(), f"no checkov at {program}: run the tests with `make test`, " \
                             "which installs it from requirements/referees.lock"
    done = subprocess.run([str(program), "--directory", str(folder), "--framework",
                           "cloudformation", "--skip-download", "--output", "json"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return json.loads(done.stdout)


def unexplained(report: dict) -> list[str]:
    """Failed checks, and skipped ones whose reason is not a kind's waiver."""
    results = report["results"]
    found = [f"{c['check_id']} {c['resource']} in {c['file_path']}: failed"
             for c in results["failed_checks"]]
    found += [f"{c['check_id']} {c['resource']} in {c['file_path']}: skipped for "
              f"{c['check_result'].get('suppress_comment')!r}, which no kind declares"
              for c in results["skipped_checks"]
              if (c["check_id"], c["check_result"].get("suppress_comment")) not in WAIVED]
    return found


def cfn_lint_informational(paths: list[str]) -> subprocess.CompletedProcess:
    program = Path(sys.executable).parent / "cfn-lint"
    return subprocess.run([str(program), "--include-checks", "I", "--format", "parseable",
                           "--", *paths], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def report() -> dict:
    return checkov(REPO / "build")


def test_checkov_finds_nothing_unexplained_in_the_shipped_templates(report):
    assert report["summary"]["resource_count"] >= 100  # it really read build/
    assert report["summary"]["passed"] >= 200
    assert report["results"]["parsing_errors"] == []
    assert unexplained(report) == []


def test_every_waiver_checkov_honours_is_written_on_the_resource(report):
    skipped = {(c["check_id"], c["check_result"]["suppress_comment"])
               for c in report["results"]["skipped_checks"]}
    # the shipped apps use every kind that waives something, so every waiver shows up
    # (a kind no shipped app uses would be missing here: then ship an example of it)
    assert skipped == WAIVED


def test_a_new_finding_or_an_unexplained_skip_fails(tmp_path):
    (tmp_path / "stack.yaml").write_text(UNEXPLAINED)
    problems = unexplained(checkov(tmp_path))
    assert any("CKV_AWS_18 AWS::S3::Bucket.Loose" in p and "'trust me'" in p
               for p in problems)
    assert any("AWS::S3::Bucket.Loose" in p and p.endswith("failed") for p in problems)
    assert any("AWS::Logs::LogGroup.Forgotten" in p for p in problems)


def test_cfn_lint_informational_rules_find_nothing():
    done = cfn_lint_informational(all_templates())
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_cfn_lint_informational_rules_are_really_on(tmp_path):
    (tmp_path / "stack.yaml").write_text(UNEXPLAINED)
    done = cfn_lint_informational([str(tmp_path / "stack.yaml")])
    assert "I3011" in done.stdout and "Forgotten" not in done.stderr


def test_a_waiver_is_dropped_where_the_resource_meets_the_check():
    from .templates import resources

    def skipped(path: str, logical_id: str) -> set[str]:
        metadata = resources(path)[logical_id].get("Metadata", {})
        return {s["id"] for s in metadata.get("checkov", {}).get("skip", [])}

    # the raffle table uses DynamoDB's key; the customers table has kms_key
    assert "CKV_AWS_119" in skipped("build/dev/raffle/01-table.yaml", "Entries")
    assert "CKV_AWS_119" not in skipped("build/dev/customers/02-data.yaml", "Table")
    # customers' log groups have log_key; the raffle's do not
    assert "CKV_AWS_158" in skipped("build/dev/raffle/02-functions.yaml", "ApplyLogGroup")
    for group in ("CreateLogGroup", "ApiLogGroup"):
        assert "CKV_AWS_158" not in skipped("build/dev/customers/03-api.yaml", group)
