"""A value that is exactly one {{ expression }} keeps the type it renders to, written bare
or quoted, in every environment; the editor schema accepts the quoted form."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from generator.jsonschema import blueprint_schema
from generator.source import render

from .conftest import REPO, write_files

VALUES = {"memory": 512, "name": "012", "flag": "yes", "colon": "a: b", "env": "dev",
          "origins": ["https://a", "https://b"]}


@pytest.mark.parametrize("written,expected", [
    ('memory: "{{ memory }}"', 512),
    ("memory: '{{ memory }}'", 512),
    ("memory: {{ memory }}", 512),
    ('memory: "{{ memory * 2 }}"  # doubled', 1024),
    ('name: "{{ name }}"', "012"),        # text that looks like a number stays text
    ("name: {{ name }}", "012"),
    ("flag: {{ flag }}", "yes"),          # and text that YAML 1.1 would call a boolean
    ("colon: {{ colon }}", "a: b"),       # and text holding YAML syntax
    ("list: {{ origins }}", ["https://a", "https://b"]),
    ("- {{ memory }}", [512]),
    ("stage: api-{{ env }}", "api-dev"),  # not one whole expression: text as before
])
def test_one_whole_expression_keeps_its_type(written, expected):
    parsed = yaml.safe_load(render(written + "\n", "x.yaml", VALUES))
    assert (parsed if isinstance(parsed, list) else next(iter(parsed.values()))) == expected


def test_a_line_of_only_an_expression_still_injects_text():
    text = render("a: 1\n{{ extra }}\n", "x.yaml", {"extra": "b: 2"})
    assert yaml.safe_load(text) == {"a": 1, "b": 2}


def test_the_editor_schema_accepts_the_quoted_form_of_a_typed_field():
    validator = jsonschema.Draft7Validator(blueprint_schema())
    stage = {"resources": {"F": {"kind": "function", "code": "x", "memory": "{{ memory }}",
                                 "tracing": "{{ tracing }}"}}}
    assert list(validator.iter_errors(stage)) == []
    stage["resources"]["F"]["memory"] = "big"
    assert list(validator.iter_errors(stage))


def test_quoted_numbers_in_the_environment_are_reported_with_what_to_do(mini, cli):
    write_files(mini, {
        "blueprints/shop/app.yaml": "version: 1\nname: shop\nenvironments:\n  dev:\n"
                                    "    region: eu-west-1\n    values:\n"
                                    "      domain: shop.example\n      memory: '512'\n",
        "blueprints/shop/02-code.yaml": "resources:\n  Worker:\n    kind: function\n"
                                        "    code: shop_worker\n    memory: \"{{ memory }}\"\n"})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert "error: blueprints/shop/02-code.yaml:5:13: resources.Worker.memory: expected an " \
           "integer between 128 and 10240, got the text '512'; write the number without " \
           "quotes (in app.yaml values too)" in run.err


def test_the_customers_app_differs_by_environment_in_numbers():
    def function(env: str) -> dict:
        template = yaml.safe_load((REPO / f"build/{env}/customers/03-api.yaml").read_text()
                                  .replace("!", ""))
        return template["Resources"]["Create"]["Properties"]

    assert function("dev")["MemorySize"] == 256
    assert function("prod")["MemorySize"] == 1024


@pytest.mark.parametrize("text", [
    "label: {{ label }}\n",                                   # the fast path
    "label: \"{{ label }}\"\n{% if true %}x: 1{% endif %}\n",  # the Jinja2 path
    "label: x {{ label }}\n{% if true %}x: 1{% endif %}\n",
])
def test_environment_values_are_data_never_template_code(text):
    values = {"label": "{{ 7 * 7 }}{% for i in 'ab' %}{{ i }}{% endfor %}"}
    parsed = yaml.safe_load(render(text, "x.yaml", values))
    assert "49" not in str(parsed["label"]) and "{{ 7 * 7 }}" in parsed["label"]


def test_a_built_expression_is_output_not_rendered_again():
    text = "label: \"{{ '%c%c 7*7 %c%c' % (123, 123, 125, 125) }}\"\n"
    assert yaml.safe_load(render(text, "x.yaml", {})) == {"label": "{{ 7*7 }}"}
