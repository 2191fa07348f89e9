"""The YAML writer: same bytes as PyYAML's layout, and it reads back as the same data."""

from __future__ import annotations

import json

import pytest
import yaml

from generator.dump import to_json, to_yaml, to_yaml_reference
from generator.source import render

from .conftest import REPO
from .templates import all_templates, template


@pytest.mark.parametrize("path", all_templates())
def test_fast_writer_matches_pyyaml_on_every_template(path):
    data = template(path)
    assert to_yaml(data) == to_yaml_reference(data)


SHAPES = [
    {"Resources": {}},
    {"Description": "empty parts", "Resources": {"A": {}}, "Outputs": {}, "Parameters": {}},
    {"Resources": {"B": {"Properties": {"z": {"y": 1, "a": [{"q": 1, "b": {"d": 2, "c": 3}}]},
                                        "a": []}, "Type": "AWS::S3::Bucket",
                         "DependsOn": ["Z", "A"], "Metadata": {"z": 1, "a": 2}}},
     "Parameters": {"Zed": {"Type": "String", "Default": "x"}, "Alpha": {"Type": "Number"}},
     "Outputs": {"Z": {"Value": {"Ref": "B"}, "Export": {"Name": "n"}, "Description": "d"},
                 "A": {"Value": "v"}},
     "Mappings": {"M": {"k2": {"b": 1, "a": 2}, "k1": {}}},
     "Conditions": {"C": {"Fn::Equals": ["a", {"Ref": "Zed"}]}},
     "Metadata": {"z": {"y": 1, "b": 2}, "a": 1}, "AWSTemplateFormatVersion": "2010-09-09"},
]


@pytest.mark.parametrize("shape", SHAPES)
def test_fast_writer_matches_pyyaml_on_empty_and_unsorted_parts(shape):
    assert to_yaml(shape) == to_yaml_reference(shape)


def test_unexpected_resource_attributes_are_refused():
    with pytest.raises(ValueError, match="Colour"):
        to_yaml({"Resources": {"A": {"Type": "AWS::S3::Bucket", "Colour": "red"}}})


TRICKY = {
    "Resources": {"X": {"Type": "AWS::SSM::Parameter", "Properties": {
        "strings": ["", " lead", "trail ", "yes", "No", "on", "null", "~", "123", "1.5",
                    "0x1F", "2010-09-09", "a: b", "a:", "#hash", "- dash", "[x]", "{y}",
                    "'quote'", '"double"', "tab\there", "ünïcode", "@at", "`tick",
                    "%percent", "!bang", "&amp", "*star", "a #b", "line\nbreak",
                    "two\nlines\n", "trailing\n\n", "  indented\nblock", "x\n  y"],
        "nested": [[1, [2, []]], {}, [], {"k": {}}, [{"a": [1, {"b": None}]}]],
        "numbers": [0, -1, 3.25, True, False, None],
    }}}}


def test_tricky_values_read_back_unchanged():
    assert yaml.safe_load(to_yaml(TRICKY)) == TRICKY


def test_fast_render_path_matches_jinja():
    """The same data as Jinja2's own rendering (one whole {{ }} value is typed, so its
    text may be quoted where Jinja2's is not)."""
    values = {"domain": "example.com", "n": 3}
    for text in ("a: {{ domain }}\nb: {{n}}-{{ domain }}\n", "a: {{ domain | upper }}\n",
                 "{% if n %}a: 1{% endif %}\n", "plain: text\n", "a: {{ n }}\n"):
        import jinja2

        expected = jinja2.Environment(undefined=jinja2.StrictUndefined,
                                      keep_trailing_newline=True).from_string(text)
        assert yaml.safe_load(render(text, "f.yaml", values)) == \
            yaml.safe_load(expected.render(**values))


def test_random_strings_read_back_unchanged():
    """A fixed-seed sample of strings built from YAML's troublesome characters."""
    import random

    rng = random.Random(1124)
    alphabet = "aZ09_-./:$@{}()*+#!&|>'\"%`,?[]~=<\\ \t\nyesnoONtrue.e"
    words = ["yes", "No", "on", "off", "null", "~", "true", "1e3", "0x1f", ".inf", "-",
             "<<", "=", "- a", "? x", "a: b", "a #c", "${AWS::Region}", "arn:aws:s3:::b/*"]
    values = []
    for _ in range(3000):
        if rng.random() < 0.3:
            text = rng.choice(words) + "".join(rng.choice(alphabet)
                                               for _ in range(rng.randint(0, 3)))
        else:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        values.append(text)
    data = {"Resources": {"X": {"Type": "T", "Properties": {
        "list": values, "map": {f"k{i}": v for i, v in enumerate(values[:500])},
        "keys": {v: i for i, v in enumerate(values[500:800]) if v}}}}}
    assert yaml.safe_load(to_yaml(data)) == data


JSON_SAMPLES = [{}, [], {"a": []}, {"b": {}, "a": [{}, [], [[]]]}, "x\u2028\n\"\\\x00é😀",
                1.5, -0.0, 1e300, float("nan"), float("inf"), True, None, 10 ** 30,
                {"k": (1, 2)}, {1: 2}, {"a": {1: "x"}}, [1.0, 2],
                {"z": 1, "a": {"y": [True, False, None], "é": "ü"}}]


@pytest.mark.parametrize("data", JSON_SAMPLES + [
    json.loads(path.read_text()) for path in sorted(REPO.glob("build/**/*.json"))])
def test_json_writer_matches_the_json_module(data):
    expected = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert to_json(data) == expected.encode()
