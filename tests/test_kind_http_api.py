"""The http_api kind's `authorizer` option: a Lambda REQUEST authorizer guarding exactly
the routes it names, and a located error for a route the API does not have."""

from __future__ import annotations

import yaml

from .conftest import write_files

SHOP_API = """\
    resources:
      Api:
        kind: http_api
        routes:
          GET /items: arn:aws:lambda:eu-west-1:123456789012:function:items
          POST /admin: arn:aws:lambda:eu-west-1:123456789012:function:admin
        authorizer:
          function: arn:aws:lambda:eu-west-1:123456789012:function:auth
          routes: [%s]
    """


def test_an_authorizer_route_that_is_not_a_route_is_a_located_error(mini, cli):
    write_files(mini, {"blueprints/shop/03-api.yaml": SHOP_API % "POST /admin, POST /admn"})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1
    assert ("blueprints/shop/03-api.yaml:9:29: resources.Api.authorizer.routes[1]: "
            "'POST /admn' is not a route of this API; its routes are GET /items, "
            "POST /admin") in run.err
    assert "Traceback" not in run.err


def test_the_authorizer_guards_exactly_the_routes_it_names(mini, cli):
    write_files(mini, {"blueprints/shop/03-api.yaml": SHOP_API % "POST /admin"})
    assert cli(mini, "synth").code == 0
    path = mini / "build/dev/shop/03-api.yaml"
    built = yaml.safe_load(path.read_text())
    routes = {r["Properties"]["RouteKey"]: r["Properties"]
              for r in built["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Route"}
    assert routes["POST /admin"]["AuthorizerId"] == {"Ref": "ApiAuthorizer"}
    assert "AuthorizerId" not in routes["GET /items"]
    assert built["Resources"]["ApiAuthorizer"]["Properties"]["AuthorizerUri"]["Fn::Sub"][1] \
        == {"Function": "arn:aws:lambda:eu-west-1:123456789012:function:auth"}



def test_the_credential_header_can_be_named(mini, cli):
    blueprint = SHOP_API % "POST /admin" + "      header: x-organiser\n"
    write_files(mini, {"blueprints/shop/03-api.yaml": blueprint})
    assert cli(mini, "synth", "--no-lint").code == 0
    built = yaml.safe_load((mini / "build/dev/shop/03-api.yaml").read_text())
    assert built["Resources"]["ApiAuthorizer"]["Properties"]["IdentitySource"] == [
        "$request.header.x-organiser"]
