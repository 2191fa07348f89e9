"""The README shows the two commands, the current kinds table and the current list of
referee checks the kinds waive."""

from __future__ import annotations

from generator.docs import kinds_table, protections_table, star_only_table, waivers_table

from .conftest import REPO

README = (REPO / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    head = README[:1500]
    assert "make synth" in head and "make test" in head


def test_kinds_table_in_readme_is_current():
    start = README.index("<!-- kinds:start")
    start = README.index("\n", start) + 1
    end = README.index("<!-- kinds:end -->")
    assert README[start:end].strip() == kinds_table(markdown=True)


def test_security_section_lists_every_waiver_as_the_kinds_declare_it():
    section = README[README.index("## Security\n"):]
    start = section.index("<!-- waivers:start")
    start = section.index("\n", start) + 1
    end = section.index("<!-- waivers:end -->")
    assert section[start:end].strip() == waivers_table()


def test_ci_runs_exactly_the_readme_test_command():
    script = (REPO / ".ci/run").read_text()
    assert [line for line in script.splitlines() if line and not line.startswith(("#", "set",
            "cd"))] == ["make test"]


def _block(name: str) -> str:
    start = README.index(f"<!-- {name}:start")
    start = README.index("\n", start) + 1
    return README[start:README.index(f"<!-- {name}:end -->")].strip()


def test_security_section_lists_the_actions_allowed_on_every_resource():
    assert _block("star-only") == star_only_table()


def test_deploy_section_lists_every_protection_the_review_watches():
    assert _block("protections") == protections_table()


def test_a_kind_documents_its_references_levels_and_the_built_in_values():
    from generator.docs import kind_fields

    text = kind_fields("function")
    assert "!GetAtt <Name>.Arn" in text
    assert "it also makes <Name>Role: !Ref <Name>Role, !GetAtt <Name>Role.Arn" in text
    assert "invoke: lambda:InvokeFunction" in text
    assert "{{ env }}, {{ app }}, {{ region }}" in text
    assert "memory" in text and "(default 256)" in text
