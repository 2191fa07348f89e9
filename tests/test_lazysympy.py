"""Only the part of sympy cfn-lint uses (generator/lazysympy.py) changes nothing it finds.

cfn-lint reasons about conditions with sympy. Templates full of conditions (parameters
with allowed values, nested And/Or/Not, conditions on conditions, on the region, always
or never true, in a loop, malformed; Fn::If in properties, conditional resources,
dependencies and outputs; a Rules section), the broken corpus of test_lintspeed and the
shipped templates are linted, and cfn-lint's condition solver is asked about every
condition directly, in two fresh processes: one with the whole of sympy, one with the
part. Every answer must be the same, and the part must still be a part at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from generator import lazysympy

from .conftest import REPO
from .test_lintspeed import _corpus

STAGES = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Stage: {Type: String, AllowedValues: [dev, prod, test]}
  Size: {Type: String, AllowedValues: [small, large], Default: small}
  Flag: {Type: String, Default: 'true'}
Rules:
  ProdIsLarge:
    RuleCondition: {Fn::Equals: [{Ref: Stage}, prod]}
    Assertions:
    - Assert: {Fn::Equals: [{Ref: Size}, large]}
      AssertDescription: prod is large
  TestIsSmall:
    RuleCondition: {Fn::Equals: [{Ref: Stage}, test]}
    Assertions:
    - Assert: {Fn::Not: [{Fn::Equals: [{Ref: Size}, large]}]}
Conditions:
  IsProd: {Fn::Equals: [{Ref: Stage}, prod]}
  IsDev: {Fn::Equals: [dev, {Ref: Stage}]}
  IsTest: {Fn::Equals: [{Ref: Stage}, test]}
  IsLarge: {Fn::Equals: [{Ref: Size}, large]}
  IsUsEast1: {Fn::Equals: [{Ref: AWS::Region}, us-east-1]}
  ProdAndLarge: {Fn::And: [{Condition: IsProd}, {Condition: IsLarge}]}
  NotProd: {Fn::Not: [{Condition: IsProd}]}
  DevOrTest: {Fn::Or: [{Condition: IsDev}, {Condition: IsTest}]}
  Never: {Fn::And: [{Condition: IsProd}, {Condition: IsDev}]}
  Always: {Fn::Equals: [a, a]}
  Static: {Fn::Equals: [a, b]}
  FlagOn: {Fn::Equals: [{Ref: Flag}, 'true']}
  Unused: {Fn::Not: [{Condition: FlagOn}]}
  Eastern: {Fn::Or: [{Condition: IsUsEast1}, {Fn::Equals: [{Ref: AWS::Region}, us-east-2]}]}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Condition: IsProd
    Properties:
      BillingMode: {Fn::If: [IsLarge, PROVISIONED, PAY_PER_REQUEST]}
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
  Queue:
    Type: AWS::SQS::Queue
    Condition: NotProd
    Properties:
      DelaySeconds: {Fn::If: [DevOrTest, 5, {Fn::If: [IsLarge, 1000, x]}]}
      VisibilityTimeout: {Fn::If: [Never, 10, {Ref: AWS::NoValue}]}
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: {Fn::GetAtt: [Queue, QueueName]}
      DisplayName: {Fn::If: [Eastern, {Ref: Table}, {Fn::If: [IsProd, {Ref: Table}, none]}]}
  Bucket:
    Type: AWS::S3::Bucket
    Condition: ProdAndLarge
    DependsOn: [Queue]
    Properties:
      BucketName: {Fn::If: [IsProd, {Fn::Sub: "${Table}-b"}, {Ref: Queue}]}
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Role: arn:aws:iam::123456789012:role/x
      Code: {ZipFile: x}
      Handler: {Fn::If: [IsProd, index.handler, {Ref: AWS::NoValue}]}
      Runtime: {Fn::If: [IsDev, python3.12, {Fn::If: [Nowhere, nodejs20.x, python2.7]}]}
      MemorySize: {Fn::If: [IsLarge, 20000, 128]}
      Timeout: {Fn::If: [Static, 5, {Fn::If: [Always, 1000, 3]}]}
Outputs:
  TableArn:
    Condition: NotProd
    Value: {Fn::GetAtt: [Table, Arn]}
  QueueUrl:
    Condition: IsProd
    Value: {Ref: Queue}
"""


def _many() -> str:
    """Nine two-valued parameters: more scenarios than cfn-lint will try (2^7), chains,
    a loop and malformed conditions."""
    names = [f"C{n}" for n in range(1, 10)]
    template = {
        "Parameters": {f"P{n}": {"Type": "String", "AllowedValues": ["a", "b"]}
                       for n in range(1, 10)},
        "Conditions": {
            **{f"C{n}": {"Fn::Equals": [{"Ref": f"P{n}"}, "a"]} for n in range(1, 10)},
            "Chain": {"Fn::And": [{"Condition": name} for name in names]},
            "Either": {"Fn::Or": [{"Fn::Not": [{"Condition": "C1"}]}, {"Condition": "C2"}]},
            "Same": {"Fn::Equals": [{"Ref": "P1"}, {"Ref": "P2"}]},
            "Loop1": {"Fn::And": [{"Condition": "Loop2"}, {"Condition": "C1"}]},
            "Loop2": {"Fn::Or": [{"Condition": "Loop1"}, {"Condition": "C2"}]},
            "BadShape": {"Fn::Equals": [{"Ref": "P1"}]},
            "BadNot": {"Fn::Not": [{"Condition": "C1"}, {"Condition": "C2"}]},
            "BadRef": {"Fn::Equals": [{"Ref": "Nowhere"}, "a"]},
        },
        "Resources": {
            **{f"Queue{n}": {"Type": "AWS::SQS::Queue", "Condition": f"C{n}",
                             "Properties": {"DelaySeconds": {"Fn::If": [
                                 f"C{n % 9 + 1}", {"Fn::GetAtt": [f"Queue{n % 9 + 1}", "Arn"]},
                                 n]}}}
               for n in range(1, 10)},
            "Nested": {"Type": "AWS::SQS::Queue", "Condition": "Chain",
                       "DependsOn": [f"Queue{n}" for n in range(1, 10)],
                       "Properties": {"MessageRetentionPeriod": _nested(names, 0)}},
            "Looping": {"Type": "AWS::SQS::Queue", "Condition": "Loop1",
                        "Properties": {"DelaySeconds": {"Fn::If": ["Either", 1, "x"]}}},
        },
    }
    return json.dumps(template, indent=1)


def _nested(names: list[str], depth: int):
    if depth == len(names):
        return "not-a-number"
    return {"Fn::If": [names[depth], depth, _nested(names, depth + 1)]}


# Run in a fresh process: the jobs on stdin, the answers on stdout.
PROBE = textwrap.dedent("""\
    import json, sys
    from generator import lazysympy
    from generator.lint import _lint_one, _prepare_host, _rules
    if sys.argv[1] == "part":
        _prepare_host()                 # as the lint host does
        assert lazysympy.partial()
    else:
        _rules()
    from cfnlint.decode.decode import decode_str
    from cfnlint.template import Template

    def ask(call):
        try:
            return call()
        except Exception as error:
            return f"{type(error).__name__}: {error}"

    def solver(text, region):
        template, matches = decode_str(text)
        if matches:
            return None
        conditions = Template("t.yaml", template, [region]).conditions
        names = sorted(conditions._conditions)
        return {
            "scenarios": ask(lambda: list(conditions.build_scenarios(
                {name: {True, False} for name in names[:6]}))),
            "each": {name: [ask(lambda: list(conditions.build_scenarios({name: {True}}))),
                            ask(lambda: conditions.build_scenerios_on_region(name, region)),
                            ask(lambda: [conditions.check_implies({name: True}, other)
                                         for other in names])]
                     for name in names},
            "satisfiable": ask(lambda: conditions.satisfiable(
                {name: True for name in names[:3]}, {"Stage": "prod", "Size": "large"})),
        }

    answers = []
    for name, text, region in json.load(sys.stdin):
        answers.append([name, region, _lint_one((name, text.encode(), region)),
                        solver(text, region), lazysympy.partial()])
    print(json.dumps({"answers": answers,
                      "modules": sum(n.split(".")[0] == "sympy" for n in sys.modules)}))
    """)


def _probe(mode: str, jobs: list) -> dict:
    env = {**os.environ, "PYTHONHASHSEED": "0"}   # some cfn-lint messages print a set
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=REPO, env=env,
                          input=json.dumps(jobs), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_the_part_answers_exactly_what_the_whole_of_sympy_does():
    """Templates without conditions (the shipped ones, broken) keep it a part; the first
    condition completes it, in the middle of cfn-lint's work on a template: each template
    with conditions starts from the part in a process of its own."""
    corpus = [[name, text.decode(), region] for name, text, region in _corpus()]
    sections, plain = corpus[:1], [job for job in corpus[1:] if "/dev/" in job[0]]
    assert sections[0][0] == "sections.yaml" and "Conditions:" in sections[0][1]
    conditional = [sections, *([[name, text, region]
                                for region in ("us-east-1", "eu-west-1", "us-east-2")]
                               for name, text in (("stages.yaml", STAGES),
                                                  ("many.json", _many())))]
    whole = _probe("whole", plain + [job for jobs in conditional for job in jobs])
    assert all(not answer[4] for answer in whole["answers"]) and whole["modules"] > 300
    part = _probe("part", plain)
    assert [a[:4] for a in part["answers"]] == [a[:4] for a in whole["answers"][:len(plain)]]
    assert all(a[4] for a in part["answers"]) and part["modules"] < 120   # still a part
    done = len(plain)
    for jobs in conditional:
        answers = _probe("part", jobs)["answers"]
        expected = whole["answers"][done:done + len(jobs)]
        assert [a[:4] for a in answers] == [a[:4] for a in expected]
        assert not answers[0][4], "the first condition completes sympy"
        done += len(jobs)
    # the corpus does reach the solver: findings about conditions, and real scenarios
    found = {f[2] for _, _, findings, _, _ in whole["answers"] for f in findings}
    assert {"W8001", "W8003", "W1001", "W1028", "E3005", "E8003", "E8005"} <= found, \
        sorted(found)
    stages = next(a[3] for a in whole["answers"] if a[0] == "stages.yaml")
    assert len(stages["scenarios"]) > 4 and stages["each"]["Never"][0] == []
    assert stages["each"]["IsUsEast1"][1] == [True]


COMPLETE = textwrap.dedent("""\
    import collections, sys
    import importlib._bootstrap_external as external
    from generator import lazysympy
    from generator.lint import _prepare_host
    _prepare_host()
    import sympy
    assert lazysympy.partial() and "sympy.sets" not in sys.modules
    eager = {name: getattr(sympy, name) for name in lazysympy.EAGER}
    executed, real = collections.Counter(), external._LoaderBasics.exec_module
    def counted(loader, module):
        executed[module.__name__] += 1
        return real(loader, module)
    external._LoaderBasics.exec_module = counted
    asked = sys.argv[1]
    if asked == "name":
        assert sympy.sqrt(16) == 4
    elif asked == "dir":
        assert "integrate" in dir(sympy)
    elif asked == "submodule":              # sympy imports some inside its functions
        from sympy.sets.fancysets import Naturals0
        assert Naturals0 is sys.modules["sympy.sets.fancysets"].Naturals0
    else:                                   # one whose second copy would differ
        import sympy.assumptions.relation.equality as equality
        from sympy.printing.smtlib import smtlib_code
        assert sys.modules["sympy.printing.smtlib"].EqualityPredicate \\
            is equality.EqualityPredicate
        x = eager["Symbol"]("x", integer=True)
        assert smtlib_code(sympy.Q.gt(x, 1)) == "(declare-const x Int)\\n(assert (> x 1))"
    assert executed["sympy"] == 1 and executed.most_common(1)[0][1] == 1, executed
    assert not lazysympy.partial() and sys.modules["sympy"] is sympy
    assert sympy.sets is sys.modules["sympy.sets"] and sympy.Matrix and sympy.pi
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "sympy":
            assert type(module.__spec__.loader).__name__ != "_Imported", name
    assert all(getattr(sympy, name) is eager[name] for name in eager), "not sympy's own"
    assert sympy.__cached__ and sympy.__file__.endswith("__init__.py")
    namespace = {}
    exec("from sympy import *", namespace)
    assert namespace["Symbol"] is eager["Symbol"] and "Matrix" in namespace
    assert sympy.__version__ in lazysympy.VERIFIED
    from sympy.parsing.sympy_parser import parse_expr   # one __init__ does not import
    assert parse_expr("x + x") == 2 * eager["Symbol"]("x") and executed["sympy"] == 1
    assert lazysympy._Finder not in sys.meta_path
    print("complete")
    """)


@pytest.mark.parametrize("asked", ["name", "dir", "submodule", "a second copy would differ"])
def test_asking_for_more_completes_it_once_into_the_whole_of_sympy(asked):
    done = subprocess.run([sys.executable, "-c", COMPLETE, asked], cwd=REPO, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and done.stdout == "complete\n", done.stderr[-3000:]


UNCHECKED = textwrap.dedent("""\
    import sys, threading
    from generator import lazysympy
    threading.Thread(target=threading.Event().wait, args=(5,), daemon=True).start()
    assert lazysympy.install() is False       # a process with threads
    lazysympy.threading = type("", (), {"active_count": staticmethod(lambda: 1)})
    lazysympy.VERIFIED = frozenset({"0.0"})
    assert lazysympy.install() is False
    assert not [n for n in sys.modules if n.split(".")[0] == "sympy"]
    import sympy
    assert not lazysympy.partial() and hasattr(sympy, "Matrix")
    assert lazysympy.install() is False       # already imported: left alone
    print("untouched")
    """)


def test_an_unchecked_or_imported_sympy_is_left_alone():
    done = subprocess.run([sys.executable, "-c", UNCHECKED], cwd=REPO, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0 and done.stdout == "untouched\n", done.stderr[-3000:]


def test_the_locked_sympy_is_the_checked_one():
    """A `make lock` that moves sympy fails here: check the part against it (the tests
    above), then add the version to lazysympy.VERIFIED."""
    from importlib.metadata import version

    lock = (REPO / "requirements" / "app.lock").read_text()
    assert f"sympy=={version('sympy')} " in lock
    assert version("sympy") in lazysympy.VERIFIED
