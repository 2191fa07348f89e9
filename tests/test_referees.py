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
  Leaky:
    Type: AWS::Lambda::Function
    Properties:
      Code: {ZipFile: 'def handler(event, context): pass'}
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/leaky
      Runtime: python3.12
      Environment:
        Variables:
          AWS_SECRET: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""

# checkov writes its own bookkeeping (__file__, __startline__, __endline__) into every
# mapping it parses and CKV_AWS_45 then scans it like a Lambda environment variable: a
# checkout path such as /check/work/main/build/prod/… reads as a secret to it. A finding
# whose only evaluated keys are that bookkeeping is about checkov's own data, not ours.
CHECKOV_OWN = ("__file__", "__startline__", "__endline__")


def _about_checkov_itself(check: dict) -> bool:
    keys = check["check_result"].get("evaluated_keys") or []
    return bool(keys) and all(key.rsplit("/", 1)[-1] in CHECKOV_OWN for key in keys)


def checkov(*files: str) -> dict:
    """One checkov run (it takes seconds to start) over the templates: its JSON report."""
    program = REFEREES / "bin" / "checkov"
    assert program.exists(), f"no checkov at {program}: run the tests with `make test`, " \
                             "which installs it from requirements/referees.lock"
    where = [arg for path in files for arg in ("--file", path)]
    done = subprocess.run([str(program), *where, "--framework", "cloudformation",
                           "--skip-download", "--output", "json"], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return json.loads(done.stdout)


def _under(report: dict, folder: Path) -> dict:
    """The report's results for the files under one folder."""
    return {kind: [c for c in checks if c["file_abs_path"].startswith(f"{folder}/")]
            for kind, checks in report["results"].items() if kind.endswith("_checks")}


def unexplained(results: dict) -> list[str]:
    """Failed checks, and skipped ones whose reason is not a kind's waiver."""
    found = [f"{c['check_id']} {c['resource']} in {c['file_path']}: failed"
             for c in results["failed_checks"] if not _about_checkov_itself(c)]
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
def hostile(tmp_path_factory) -> Path:
    """A template with an unexplained skip and a failing resource, beside build/."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "stack.yaml").write_text(UNEXPLAINED)
    return folder


@pytest.fixture(scope="module")
def report(hostile) -> dict:
    return checkov(*(str(REPO / p) for p in all_templates()), str(hostile / "stack.yaml"))


@pytest.fixture(scope="module")
def informational(hostile) -> dict[str, list[str]]:
    """cfn-lint's informational findings per template (one run: it starts slowly)."""
    done = cfn_lint_informational(all_templates() + [str(hostile / "stack.yaml")])
    assert done.stderr == "" and done.returncode in (0, 8)  # 8: informational found
    found: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        found.setdefault(line.split(":", 1)[0], []).append(line)
    return found


def test_checkov_finds_nothing_unexplained_in_the_shipped_templates(report):
    shipped = _under(report, REPO / "build")
    assert len(shipped["passed_checks"]) >= 200
    assert report["results"]["parsing_errors"] == []
    # it really read every template
    assert {c["file_abs_path"] for c in shipped["passed_checks"]} == \
        {str(REPO / path) for path in all_templates()}
    assert unexplained(shipped) == []


def test_every_waiver_checkov_honours_is_written_on_the_resource(report):
    skipped = {(c["check_id"], c["check_result"]["suppress_comment"])
               for c in _under(report, REPO / "build")["skipped_checks"]}
    # the shipped apps use every kind that waives something, so every waiver shows up
    # (a kind no shipped app uses would be missing here: then ship an example of it)
    assert skipped == WAIVED


def test_a_new_finding_or_an_unexplained_skip_fails(report, hostile):
    problems = unexplained(_under(report, hostile))
    assert any("CKV_AWS_18 AWS::S3::Bucket.Loose" in p and "'trust me'" in p
               for p in problems)
    assert any("AWS::S3::Bucket.Loose" in p and p.endswith("failed") for p in problems)
    assert any("AWS::Logs::LogGroup.Forgotten" in p for p in problems)
    # a secret really written into a Lambda environment still fails
    assert any(p.startswith("CKV_AWS_45 AWS::Lambda::Function.Leaky in ")
               and p.endswith("failed") for p in problems)


def test_only_checkov_s_own_bookkeeping_is_set_aside():
    def failed(*keys: str) -> dict:
        return {"check_id": "CKV_AWS_45", "resource": "AWS::Lambda::Function.F",
                "file_path": "/build/x.yaml",
                "check_result": {"result": "FAILED", "evaluated_keys": list(keys)}}

    ours = failed("Properties/Environment/Variables/TOKEN")
    theirs = failed("Properties/Environment/Variables/__file__")
    mixed = failed("Properties/Environment/Variables/__file__",
                   "Properties/Environment/Variables/TOKEN")
    found = unexplained({"failed_checks": [ours, theirs, mixed, failed()],
                         "skipped_checks": []})
    assert len(found) == 3    # everything but the finding on __file__ alone


def test_cfn_lint_informational_rules_find_nothing(informational, hostile):
    assert {path: lines for path, lines in informational.items()
            if not path.startswith(str(hostile))} == {}


def test_cfn_lint_informational_rules_are_really_on(informational, hostile):
    assert any("I3011" in line for line in informational[str(hostile / "stack.yaml")])


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
