"""Cross-stage references, stage order, regions and the manifest."""

from __future__ import annotations

import json

from generator.build import synth

from .conftest import write_files

CERT = """\
description: certificate in us-east-1 for CloudFront
region: us-east-1
resources:
  Cert:
    kind: raw
    type: AWS::CertificateManager::Certificate
    properties:
      DomainName: "{{ domain }}"
      ValidationMethod: DNS
outputs:
  CertArn: !Ref Cert
"""

USES_CERT = """\
resources:
  Param:
    kind: raw
    type: AWS::SSM::Parameter
    properties: {Type: String, Value: !Output cert.CertArn}
"""


def test_output_reference_becomes_parameter_and_edge(mini):
    synth(str(mini), cache_path=None)
    manifest = json.loads((mini / "build/dev/shop/manifest.json").read_text())
    code = manifest["stacks"][1]
    assert code["stack_name"] == "shop-dev-code"
    assert code["depends_on"] == ["shop-dev-data"]
    assert code["parameters"]["DataTableName"] == {"stack": "shop-dev-data",
                                                   "output": "TableName"}
    template = (mini / "build/dev/shop/02-code.yaml").read_text()
    assert "  DataTableName:\n    Description: Output TableName of stack shop-dev-data\n" \
           "    Type: String\n" in template
    assert "TABLE:\n            Ref: DataTableName" in template


def test_order_comes_from_references_not_file_numbers(mini):
    write_files(mini, {"blueprints/shop/00-early.yaml": USES_CERT,
                       "blueprints/shop/05-cert.yaml": CERT})
    result = synth(str(mini), cache_path=None)
    order = [s.stage_name for s in result.stacks]
    assert order.index("cert") < order.index("early")
    assert order.index("data") < order.index("code")


def test_stage_region_overrides_environment_region(mini):
    write_files(mini, {"blueprints/shop/05-cert.yaml": CERT,
                       "blueprints/shop/06-use.yaml": USES_CERT})
    synth(str(mini), cache_path=None)
    stacks = {s["stage"]: s for s in json.loads(
        (mini / "build/dev/shop/manifest.json").read_text())["stacks"]}
    assert stacks["cert"]["region"] == "us-east-1"
    assert stacks["use"]["region"] == "eu-west-1"
    assert stacks["use"]["parameters"]["CertCertArn"]["stack"] == "shop-dev-cert"
    assert "DomainName: shop.example" in (mini / "build/dev/shop/05-cert.yaml").read_text()


def test_removed_stage_files_disappear(mini, cli):
    write_files(mini, {"blueprints/shop/05-cert.yaml": CERT})
    assert cli(mini, "synth").code == 0
    assert (mini / "build/dev/shop/05-cert.yaml").exists()
    (mini / "blueprints/shop/05-cert.yaml").unlink()
    run = cli(mini, "synth")
    assert "removed build/dev/shop/05-cert.yaml" in run.out
    assert not (mini / "build/dev/shop/05-cert.yaml").exists()


def test_second_environment_is_one_block_of_values(mini):
    app = (mini / "blueprints/shop/app.yaml").read_text()
    prod_block = "  prod:\n    region: eu-central-1\n    values:\n" \
                 "      domain: shop.example.org\n"
    write_files(mini, {"blueprints/shop/app.yaml": app + prod_block})
    synth(str(mini), cache_path=None)
    prod = json.loads((mini / "build/prod/shop/manifest.json").read_text())
    assert [s["stack_name"] for s in prod["stacks"]] == ["shop-prod-data", "shop-prod-code"]
    assert "for shop.example.org" in (mini / "build/prod/shop/02-code.yaml").read_text()
