"""The cfn-lint shortcuts (generator/lintspeed.py) change nothing cfn-lint finds.

Every committed template is broken in seeded, varied ways (wrong types, missing and
unknown properties, dangling Ref and GetAtt, bad Sub variables, bad IAM actions, bad
enum values, misspelled resource types) and, with one hand-written template of broken
sections, linted with cfn-lint as shipped and with the shortcuts: every finding, its
line, rule and message must be the same."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import yaml

from generator import lintspeed
from generator.lint import _lint_one, _rules

from .conftest import REPO

SECTIONS = """\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Size:
    Type: Number
    Default: ten
    AllowedValues: [1, 2]
  Unused:
    Type: Strin
  Lang:
    Type: String
    AllowedValues: [python2.7, cobol]
Conditions:
  IsBig: {Fn::Equals: [{Ref: Size}, 2, 3]}
  Broken: {Fn::Not: {Condition: Nowhere}}
Mappings:
  Sizes:
    small: {Memory: 128}
    large: [256]
Rules:
  Limits:
    Assertions:
    - Assert: {Fn::Contains: [[1, 2]]}
Metadata:
  AWS::CloudFormation::Interface:
    ParameterGroups: [{Parameters: Size}]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Condition: Missing
    DependsOn: [Nowhere, Queue]
    DeletionPolicy: Keep
    UpdateReplacePolicy: Retain
    Properties:
      DelaySeconds: {Fn::FindInMap: [Sizes, huge, Memory]}
      MessageRetentionPeriod: {Fn::If: [IsBig, 60, nine]}
      QueueName: {Fn::Join: [",", {Ref: Size}]}
      Tags: [{Key: 1}]
  Function:
    Type: AWS::Lambda::Function
    UpdatePolicy: {AutoScalingRollingUpdate: {MinInstancesInService: x}}
    Properties:
      Code: {ZipFile: {Fn::Base64: {Fn::Select: [5, [a, b]]}}}
      Handler: {Fn::Sub: ["${Who}.handler", {Other: x}]}
      Role: {Fn::GetAtt: Queue}
      Runtime: python2.7
      Environment: {Variables: {A: {Fn::ImportValue: [x]}}}
      VpcConfig: {SubnetIds: {Fn::GetAZs: 3}, SecurityGroupIds: {Fn::Cidr: [a, 2]}}
  Resolved:
    Type: AWS::Lambda::Function
    Properties:
      Code: {ZipFile: x}
      Role: {Fn::Sub: "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x"}
      Runtime: {Ref: Lang}
      MemorySize: {Fn::FindInMap: [Sizes, small, Memory]}
      FunctionName:
        Fn::Sub: "${AWS::Region}-${AWS::StackName}-a-long-name-${AWS::AccountId}-${AWS::AccountId}"
      Handler: {Fn::Join: ["", [{Ref: AWS::Region}, " ", {Ref: AWS::URLSuffix}]]}
      Timeout: {Fn::If: [IsBig, 1000, {Ref: AWS::NoValue}]}
Outputs:
  Arn:
    Value: {Fn::GetAtt: [Queue, Nope]}
    Export: {Name: {Ref: AWS::Nowhere}}
  Empty: {}
"""


def _leaves(node, path=()) -> Iterator[tuple[tuple, object]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path, node


def _set(template: dict, path: tuple, value) -> None:
    node = template
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _break(template: dict, chance: random.Random) -> dict:
    """About a dozen seeded breakages of one template's resources and outputs."""
    resources = template.get("Resources", {})
    leaves = [(path, value) for path, value in _leaves({"Resources": resources,
                                                        "Outputs": template.get("Outputs", {})})
              if path[0] == "Outputs" or path[2] == "Properties"]
    for path, value in chance.sample(leaves, min(12, len(leaves))):
        if path[-1] == "Ref":
            _set(template, path, "Nowhere")
        elif path[-2:-1] == ("Fn::GetAtt",) and path[-1] == 1:
            _set(template, path, "NoSuchAttribute")
        elif path[-1] == "Fn::Sub" and isinstance(value, str):
            _set(template, path, value + "${Missing}")
        elif isinstance(value, str) and ":" in value and "Action" in path:
            _set(template, path, value + "z")
        elif isinstance(value, bool | int):
            _set(template, path, "not-a-number")
        elif isinstance(value, str):
            _set(template, path, chance.choice([12345, {"Unexpected": 1}, [value], "*"]))
    for name in sorted(resources)[::3]:
        properties = resources[name].setdefault("Properties", {})
        if properties:
            del properties[chance.choice(sorted(properties))]
        properties["Bogus"] = True
    if resources:
        first = resources[sorted(resources)[0]]
        first["Type"] = first["Type"].replace("::", "::X", 1)
    return template


def _corpus() -> list[tuple[str, bytes, str]]:
    chance = random.Random(14)
    jobs = [("sections.yaml", SECTIONS.encode(), "us-east-1")]
    for path in sorted((REPO / "build").glob("*/*/*.yaml")):
        template = _break(yaml.safe_load(path.read_text()), chance)
        text = yaml.safe_dump(template, sort_keys=False).encode()
        jobs.append((str(path.relative_to(REPO)), text, "eu-west-1"))
    return jobs


def _lint_corpus(jobs: list) -> list:
    return [_lint_one(job) for job in jobs]


def _lint_counting_classes(jobs: list) -> tuple[list, int]:
    """The corpus's findings, and how many validator classes cfn-lint made for them."""
    from cfnlint.jsonschema import validators

    calls = {"create": 0}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validators, "create", _counted(validators.create, calls, "create"))
        return _lint_corpus(jobs), calls["create"]


def _counted(function, calls: dict, name: str):
    def counting(*args, **kwargs):
        calls[name] += 1
        return function(*args, **kwargs)

    return counting


@pytest.fixture
def plain_then_fast():
    """cfn-lint as shipped for the body of the test; the shortcuts again afterwards."""
    _rules()
    lintspeed.restore()
    try:
        yield
    finally:
        assert lintspeed.apply()


def test_shortcuts_find_exactly_what_cfn_lint_finds(plain_then_fast, monkeypatch):
    from cfnlint.rules.jsonschema.Base import BaseJsonSchema

    jobs = _corpus()
    assert not lintspeed.active()
    plain, plain_classes = _lint_counting_classes(jobs)
    assert lintspeed.apply() and lintspeed.active()
    calls = {"extend": 0}
    monkeypatch.setattr(BaseJsonSchema, "extend_validator",
                        _counted(BaseJsonSchema.extend_validator, calls, "extend"))
    fast, fast_classes = _lint_counting_classes(jobs)
    assert fast == plain
    # a handful of classes, each made once and shared by many validators
    assert 0 < lintspeed.shared_classes() <= 32
    assert calls["extend"] > 20 * lintspeed.shared_classes(), calls
    assert fast_classes < plain_classes / 5, (fast_classes, plain_classes)
    found = [finding for template in plain for finding in template]
    rules = {finding[2] for finding in found}
    assert len(jobs) > 25 and all(plain), "every template of the corpus is broken"
    assert len(found) > 350 and len(rules) > 35, (len(found), sorted(rules))


def test_evolve_makes_what_cfn_lint_makes(plain_then_fast):
    """Field by field, for the calls whose effect the corpus may not show."""
    from cfnlint.decode.decode import decode_str
    from cfnlint.jsonschema.validators import CfnTemplateValidator
    from cfnlint.template import Template

    template = Template("sections.yaml", decode_str(SECTIONS)[0], ["us-east-1"])
    context = template.context.evolve(ref_values={"Size": 1})
    validator = CfnTemplateValidator({}, cfn=template, context=context)
    calls = [{}, {"ref_values": {"AWS::Region": "eu-west-1"}}, {"ref_values": {"Size": 2}},
             {"path": context.path.descend(path="Resources")}, {"is_resolved_value": True}]

    def made() -> list:
        return [*(context.evolve(**call) for call in calls),
                *(vars(validator.evolve(schema={"type": "string"}, context=context.evolve(**call)))
                  for call in calls)]

    plain = made()
    assert lintspeed.apply()
    assert made() == plain
    assert plain[1].ref_values == {"Size": 1, "AWS::Region": "eu-west-1"}


def test_a_shared_class_makes_each_validator_from_its_own_caller(plain_then_fast):
    """What the corpus may not show: extra keyword functions given to one call, and the
    caller's function filter, schema and context, reach that validator alone."""
    from cfnlint.decode.decode import decode_str
    from cfnlint.jsonschema._filter import FunctionFilter
    from cfnlint.jsonschema.validators import CfnTemplateValidator
    from cfnlint.rules.jsonschema.Base import BaseJsonSchema
    from cfnlint.template import Template

    assert lintspeed.apply()
    rule = next(r for r in _rules().data.values() if isinstance(r, BaseJsonSchema))
    template = Template("sections.yaml", decode_str(SECTIONS)[0], ["us-east-1"])
    plain = CfnTemplateValidator({}, cfn=template)
    strict = plain.evolve(function_filter=FunctionFilter(validate_dynamic_references=False))

    def extra(validator, value, instance, schema):
        yield from ()

    schema = {"type": "string"}
    with_extra = rule.extend_validator(plain, schema, template.context, {"x-extra": extra})
    first = rule.extend_validator(plain, schema, template.context)
    second = rule.extend_validator(strict, {}, template.context.evolve(is_resolved_value=True))
    assert with_extra.validators["x-extra"] is extra and "x-extra" not in first.validators
    assert type(first) is type(second)                           # shared
    assert first.function_filter is plain.function_filter
    assert second.function_filter is strict.function_filter
    assert (first.schema, second.schema) == (schema, {})
    assert second.context.is_resolved_value and not first.context.is_resolved_value
    assert first.cfn is template and first.resolver is not second.resolver
    resolving = type(plain).extend(plain, fn_resolvers={"Fn::Extra": extra})(
        schema={}, cfn=template)
    resolved = rule.extend_validator(resolving, schema, template.context)
    assert resolved.fn_resolvers["Fn::Extra"] is extra and "Fn::Extra" not in first.fn_resolvers


def test_a_template_cfn_lint_cannot_decode_is_a_finding_not_a_crash():
    found = _lint_one(("twice.yaml", b"Resources: {}\nResources: {}\n", "us-east-1"))
    assert found and found[0][2] == "E0000" and found[0][5] == []


def test_clean_templates_stay_clean_with_the_shortcuts():
    _rules()
    assert lintspeed.active()
    shipped = [(str(p), p.read_bytes(), "eu-west-1")
               for p in sorted((REPO / "build").glob("dev/*/*.yaml"))]
    assert shipped and _lint_corpus(shipped) == [[]] * len(shipped)


def test_the_locked_cfn_lint_is_the_verified_one():
    """A `make lock` that moves cfn-lint fails here: check the corpus against the new
    version (the test above), then add it to lintspeed.VERIFIED."""
    from cfnlint.version import __version__

    lock = (REPO / "requirements" / "app.lock").read_text()
    assert f"cfn-lint=={__version__} " in lock
    assert lintspeed.applicable(), f"cfn-lint {__version__} is not in lintspeed.VERIFIED"


def test_an_unverified_cfn_lint_runs_untouched(plain_then_fast, monkeypatch):
    from cfnlint.context.context import Context
    from cfnlint.jsonschema import validators
    from cfnlint.rules.jsonschema.Base import BaseJsonSchema

    before = (BaseJsonSchema.__dict__["extend_validator"], validators.create,
              Context.__dict__["evolve"])
    monkeypatch.setattr(lintspeed, "VERIFIED", frozenset({"0.0.0"}))
    assert lintspeed.apply() is False and not lintspeed.active()
    assert (BaseJsonSchema.__dict__["extend_validator"], validators.create,
            Context.__dict__["evolve"]) == before
    monkeypatch.undo()


def test_restore_puts_back_every_original(plain_then_fast):
    from cfnlint.jsonschema import validators

    original = validators.CfnTemplateValidator.__dict__["evolve"]
    assert lintspeed.apply()
    assert validators.CfnTemplateValidator.__dict__["evolve"] is not original
    lintspeed.restore()
    assert validators.CfnTemplateValidator.__dict__["evolve"] is original

