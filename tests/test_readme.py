"""The README shows the two commands and the current kinds table."""

from __future__ import annotations

from generator.docs import kinds_table

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


def test_ci_runs_exactly_the_readme_test_command():
    script = (REPO / ".ci/run").read_text()
    assert [line for line in script.splitlines() if line and not line.startswith(("#", "set",
            "cd"))] == ["make test"]
