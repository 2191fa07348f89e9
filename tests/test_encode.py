"""Templates as plain data in one walk: exactly what troposphere's to_dict gives,
validation included."""

from __future__ import annotations

import pytest
from troposphere import GetAtt, Ref, Sub, Tags, Template
from troposphere.iam import Role
from troposphere.sqs import Queue, RedrivePolicy

from generator.build import load_apps
from generator.encode import template_dict
from generator.errors import Problems
from generator.synth import build_stage

from .conftest import REPO


def test_every_shipped_stack_encodes_as_troposphere_encodes_it():
    count = 0
    for app in load_apps(str(REPO), None, None):
        for name in app.order:
            template = build_stage(str(REPO), app, app.stages[name], Problems()).template
            expected = template.to_dict()
            got = template_dict(template)
            assert got == expected and list(got) == list(expected), f"{app.name} {name}"
            count += 1
    assert count >= 29


def test_helpers_tags_and_nested_properties_encode_alike():
    template = Template(Description="d")
    queue = template.add_resource(Queue("Q", Tags=Tags(b="2", a=Ref("AWS::Region")),
                                        RedrivePolicy=RedrivePolicy(
                                            deadLetterTargetArn=GetAtt("Dlq", "Arn"),
                                            maxReceiveCount=3)))
    template.add_resource(Queue("Dlq", DependsOn=[queue]))
    template.add_condition("C", {"Fn::Equals": [Sub("${AWS::Region}"), "eu-west-1"]})
    assert template_dict(template) == template.to_dict()


def test_a_missing_required_property_is_refused_as_troposphere_refuses_it():
    template = Template()
    template.add_resource(Role("R"))                 # AssumeRolePolicyDocument missing
    with pytest.raises(ValueError, match="AssumeRolePolicyDocument required in type "
                                         "AWS::IAM::Role"):
        template.to_dict()
    with pytest.raises(ValueError, match="AssumeRolePolicyDocument required in type "
                                         "AWS::IAM::Role"):
        template_dict(template)
