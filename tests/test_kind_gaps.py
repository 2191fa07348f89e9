"""Gaps users hit in the first kinds: a website on *.cloudfront.net with extra bucket
policy statements, HTTP API payload formats and per-route JWT/IAM/Lambda authorization,
REST API path parameters, trailing slashes and per-method throttling (its stage is always
traced)."""

from __future__ import annotations

import pytest
import yaml

from .conftest import write_files
from .test_referees import checkov, unexplained

SITE = """\
    region: us-east-1
    resources:
      Site:
        kind: website
        bucket_policy:
          - Sid: DenyOldTls
            Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource: !Sub "${SiteBucket.Arn}/*"
            Condition: {NumericLessThan: {"s3:TlsVersion": 1.2}}
    """
APIS = """\
    resources:
      Http:
        kind: http_api
        payload_format: "1.0"
        routes:
          GET /items/{id}: arn:aws:lambda:eu-west-1:123456789012:function:items
          POST /items: arn:aws:lambda:eu-west-1:123456789012:function:items
          DELETE /items/{id}: arn:aws:lambda:eu-west-1:123456789012:function:items
          GET /open: arn:aws:lambda:eu-west-1:123456789012:function:items
        jwt:
          issuer: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc
          audience: [client123]
          routes: [POST /items]
          scopes: [items/write]
        iam_routes: ["DELETE /items/{id}"]
      Rest:
        kind: rest_api
        stage: dev
        paths:
          /customers/:
            POST: {function: arn:aws:lambda:eu-west-1:123456789012:function:c}
          /customers/{id}:
            GET: {function: arn:aws:lambda:eu-west-1:123456789012:function:c,
                  throttle: {rate: 5, burst: 10}}
    """


def _built(mini, cli, name: str, text: str) -> dict:
    write_files(mini, {f"blueprints/shop/03-{name}.yaml": text})
    run = cli(mini, "synth")
    assert run.code == 0, run.err
    return yaml.safe_load((mini / f"build/dev/shop/03-{name}.yaml").read_text())["Resources"]


def test_a_website_without_a_domain_serves_on_cloudfront_net(mini, cli):
    built = _built(mini, cli, "site", SITE)
    config = built["Site"]["Properties"]["DistributionConfig"]
    assert "Aliases" not in config
    assert config["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert not [r for r in built.values() if r["Type"] == "AWS::Route53::RecordSet"]
    statements = built["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Sid"] for s in statements] == [
        "CloudFrontReadsThroughOriginAccessControl", "DenyInsecureTransport", "DenyOldTls"]
    skips = {s["id"] for s in built["Site"]["Metadata"]["checkov"]["skip"]}
    assert "CKV_AWS_174" in skips
    report = checkov(str(mini / "build/dev/shop/03-site.yaml"))
    assert unexplained((report if "results" in report else report[0])["results"]) == []


def test_extra_bucket_statements_pass_the_policy_guard(mini, cli):
    public = SITE.replace("Effect: Deny", "Effect: Allow").replace('Action: "s3:*"',
                                                                   "Action: s3:GetObject")
    public = public.replace('            Condition: {NumericLessThan: {"s3:TlsVersion": 1.2}}\n',
                            "")
    write_files(mini, {"blueprints/shop/03-site.yaml": public})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1 and "makes this public" in run.err and "(policy guard)" in run.err


def test_a_website_domain_needs_its_zone_and_certificate(mini, cli):
    write_files(mini, {"blueprints/shop/03-site.yaml": SITE.replace(
        "kind: website", "kind: website\n        domain: shop.example")})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1 and "a custom domain needs domain, hosted_zone and certificate " \
                             "together; you gave domain" in run.err


def test_http_api_routes_have_their_own_authorization_and_payload_format(mini, cli):
    built = _built(mini, cli, "apis", APIS)
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in built.values()
              if r["Type"] == "AWS::ApiGatewayV2::Route"}
    assert routes["POST /items"]["AuthorizationType"] == "JWT"
    assert routes["POST /items"]["AuthorizerId"] == {"Ref": "HttpJwt"}
    assert routes["POST /items"]["AuthorizationScopes"] == ["items/write"]
    assert routes["DELETE /items/{id}"]["AuthorizationType"] == "AWS_IAM"
    assert "AuthorizationType" not in routes["GET /open"]
    jwt = built["HttpJwt"]["Properties"]["JwtConfiguration"]
    assert jwt == {"Audience": ["client123"],
                   "Issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"}
    formats = {r["Properties"]["PayloadFormatVersion"] for r in built.values()
               if r["Type"] == "AWS::ApiGatewayV2::Integration"}
    assert formats == {"1.0"}
    report = checkov(str(mini / "build/dev/shop/03-apis.yaml"))
    assert unexplained((report if "results" in report else report[0])["results"]) == []


def test_rest_api_path_parameters_trailing_slashes_and_throttles(mini, cli):
    built = _built(mini, cli, "apis", APIS)
    parts = {r["Properties"]["PathPart"] for r in built.values()
             if r["Type"] == "AWS::ApiGateway::Resource"}
    assert parts == {"customers", "{id}"}
    get = built["RestCustomersIdGet"]["Properties"]
    assert get["RequestParameters"] == {"method.request.path.id": True}
    source = built["RestCustomersIdGetPermission"]["Properties"]["SourceArn"]["Fn::Sub"]
    assert source.endswith("/*/GET/customers/*")
    stage = built["RestStage"]["Properties"]
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"][1] == {
        "HttpMethod": "GET", "ResourcePath": "/~1customers~1{id}", "MetricsEnabled": True,
        "ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10}


@pytest.mark.parametrize(("change", "message"), [
    (('iam_routes: ["DELETE /items/{id}"]', "iam_routes: [POST /items]"),
     "iam_routes[0]: 'POST /items' is already guarded by jwt; a route has one authorizer"),
    (('iam_routes: ["DELETE /items/{id}"]', "iam_routes: [PUT /items]"),
     "'PUT /items' is not a route of this API"),
    (("          /customers/{id}:", "          /customers:"),
     "resources.Rest.paths: /customers is written twice"),
])
def test_wrong_shapes_are_located_errors(mini, cli, change, message):
    write_files(mini, {"blueprints/shop/03-apis.yaml": APIS.replace(*change)})
    run = cli(mini, "synth", "--no-lint")
    assert run.code == 1 and message in run.err, run.err
