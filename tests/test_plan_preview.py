"""PR-ready plans: the whole graph before anything exists, gates, the diagram, `graph`."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.deploy.manifest import load_stacks
from generator.deploy.models import Change
from generator.deploy.preview import gate_markdown, mermaid, plan_document
from generator.deploy.runner import Outcome

from .conftest import REPO
from .localcloud import LocalCloud, project

STACKS = load_stacks(str(REPO), "dev", ["customers"])


def test_the_diagram_marks_changed_stacks_and_draws_dependencies():
    results = {"customers-dev-key": "unchanged", "customers-dev-data": "planned",
               "customers-dev-api": "planned (new; inputs known after deploy)"}
    lines = mermaid(STACKS, results)
    assert lines[:2] == ["```mermaid", "flowchart LR"]
    assert '  s_customers_dev_api["customers-dev-api<br/>planned"]' in lines
    assert "  s_customers_dev_key --> s_customers_dev_data" in lines
    assert "  class s_customers_dev_data,s_customers_dev_api changed" in lines
    assert "  class s_customers_dev_key same" in lines


def test_plan_md_starts_with_a_summary_and_the_diagram():
    outcome = Outcome(results={"customers-dev-data": "planned"},
                      sections={"customers-dev-data": ["### customers-dev-data", ""]},
                      order=["customers-dev-data"])
    text = plan_document("dev", STACKS, outcome)
    assert text.startswith("## Deploy plan (dev)\n\n1 of 3 stack(s) would change: "
                           "`customers-dev-data`\n\n```mermaid\n")
    assert text.endswith("### customers-dev-data\n")


def test_data_loss_gates_are_listed_with_the_flag_that_allows_them():
    changes = [Change("Modify", "Table", "AWS::DynamoDB::Table", "True", ("KeySchema",)),
               Change("Modify", "Fn", "AWS::Lambda::Function", "False")]
    assert gate_markdown(changes, ("Table",)) == [
        "#### Data-loss gates (deploy needs `--allow-replace <logical id>`)", "",
        "- `Table` (`AWS::DynamoDB::Table`) would be replaced and its data lost: "
        "`--allow-replace Table`", ""]
    assert gate_markdown(changes[1:], ()) == []


def test_graph_draws_every_stack_with_its_resources(capsys):
    assert main(["--root", str(REPO), "graph", "--app", "customers"]) == 0
    out = capsys.readouterr().out
    for spec in STACKS:
        assert f'subgraph {spec.name.replace("-", "_")}["{spec.name}"]' in out
    assert "customers_dev_key ==> customers_dev_data" in out
    assert 'customers_dev_data_Table["Table<br/><small>AWS::DynamoDB::Table</small>"]' in out
    assert "customers_dev_data_Table --> customers_dev_data_TableNameParameter" in out


def test_graph_as_dot_and_stacks_only(capsys):
    assert main(["--root", str(REPO), "graph", "--format", "dot", "--env", "prod"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph stacks {") and out.rstrip().endswith("}")
    assert "customers_prod_key -> customers_prod_data [style=bold];" in out
    assert main(["--root", str(REPO), "graph", "--stacks-only", "--app", "raffle"]) == 0
    out = capsys.readouterr().out
    assert "subgraph" not in out and 'raffle_dev_api["raffle-dev-api"]' in out


def test_the_plan_example_in_docs_has_its_diagram():
    text = (REPO / "docs/plan.md").read_text()
    assert "```mermaid" in text and "Data-loss gates" in text and "Security changes" in text


@pytest.mark.slow
def test_an_empty_local_cloud_plans_the_whole_graph(tmp_path_factory):
    root = project(tmp_path_factory.mktemp("project"))
    cloud = LocalCloud(tmp_path_factory.mktemp("ministack"))
    plan_md = Path(root) / "plan.md"
    try:
        code = main(["--root", str(root), "plan", "--env", "local", "--endpoint",
                     cloud.endpoint, "--markdown", str(plan_md), "--detailed-exitcode"])
    finally:
        cloud.stop()
    assert code == 4
    text = plan_md.read_text()
    names = [s.name for s in load_stacks(str(root), "local", None)]
    assert f"{len(names)} of {len(names)} stack(s) would change" in text
    assert "Cannot be planned yet" not in text
    for name in names:
        assert f"### {name}" in text
    assert "| `HostedZoneAreuluckyLocal` | (known after deploy) (the hosted zone " \
           "areulucky.local) |" in text
    assert "(known after deploy) (output TableArn of raffle-local-table)" in text
    assert "#### Security changes" in text.split("### raffle-local-functions")[1]
