"""The HTTP API: Cognito JWT on everything but the provider webhooks and the dashboard's files."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from tests.infra.synth import Synthesized

PUBLIC_ROUTE_KEYS = {
    "POST /api/whatsapp/webhook",
    "POST /api/voice/webhooks/twilio/status",
    "POST /api/voice/webhooks/twilio/recording",
    "GET /api/voice/twiml/{targetId}",
    "POST /api/voice/twiml/{targetId}",
    "POST /api/voice/transfer/{conversationId}/status",
    "POST /api/voice/transfer/{conversationId}/whisper",
    "POST /api/voice/menu/{conversationId}/{step}",
    "GET /voice/monitor",
    "GET /voice/monitor/{proxy+}",
}


def _routes(synth: Synthesized) -> dict[str, dict]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }


def test_the_default_route_requires_a_cognito_jwt(each_stage: Synthesized) -> None:
    (authorizer_id, authorizer) = next(iter(each_stage.resources("AWS::ApiGatewayV2::Authorizer").items()))
    props = authorizer["Properties"]
    assert props["AuthorizerType"] == "JWT"
    assert "cognito-idp" in json.dumps(props["JwtConfiguration"]["Issuer"])
    (client_id,) = each_stage.resources("AWS::Cognito::UserPoolClient")
    assert props["JwtConfiguration"]["Audience"] == [{"Ref": client_id}]
    default = _routes(each_stage)["$default"]
    assert default["AuthorizationType"] == "JWT"
    assert default["AuthorizerId"] == {"Ref": authorizer_id}


def test_webhooks_and_dashboard_files_skip_the_authorizer_and_nothing_else_does(
    each_stage: Synthesized,
) -> None:
    routes = _routes(each_stage)
    assert set(routes) == PUBLIC_ROUTE_KEYS | {"$default"}
    for key in PUBLIC_ROUTE_KEYS:
        each_stage.template.has_resource_properties(
            "AWS::ApiGatewayV2::Route",
            {"RouteKey": key, "AuthorizationType": "NONE", "AuthorizerId": Match.absent()},
        )


def test_every_route_reaches_the_api_function(prod: Synthesized) -> None:
    api_id, _ = prod.functions_by_handler()["functions.api.handler.handler"]
    (integration_id, integration) = next(iter(prod.resources("AWS::ApiGatewayV2::Integration").items()))
    assert integration["Properties"]["IntegrationUri"] == {"Fn::GetAtt": [api_id, "Arn"]}
    for route in _routes(prod).values():
        assert route["Target"] == {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]}


def test_the_stage_logs_access_without_paths_or_query_strings(each_stage: Synthesized) -> None:
    (stage,) = (s["Properties"] for s in each_stage.resources("AWS::ApiGatewayV2::Stage").values())
    settings = stage["AccessLogSettings"]
    assert settings["DestinationArn"]["Fn::GetAtt"][1] == "Arn"
    log_format = json.loads(settings["Format"])
    assert "$context.routeKey" in log_format.values()
    assert not any("path" in value.lower() or "querystring" in value.lower() for value in log_format.values())
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0


def test_the_user_pool_is_invite_only_with_mfa_and_strong_passwords(prod: Synthesized) -> None:
    (pool,) = (p["Properties"] for p in prod.resources("AWS::Cognito::UserPool").values())
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON"
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[f"Require{kind}"] for kind in ("Lowercase", "Uppercase", "Numbers", "Symbols"))
    assert pool["UserPoolTier"] == "PLUS"
    assert pool["DeletionProtection"] == "ACTIVE"


def test_the_roles_are_cognito_groups_and_the_client_has_no_secret(prod: Synthesized) -> None:
    groups = {
        g["Properties"]["GroupName"]: g["Properties"]
        for g in prod.resources("AWS::Cognito::UserPoolGroup").values()
    }
    assert set(groups) == {"viewer", "supervisor", "admin"}
    assert groups["admin"]["Precedence"] < groups["supervisor"]["Precedence"] < groups["viewer"]["Precedence"]
    (client,) = (c["Properties"] for c in prod.resources("AWS::Cognito::UserPoolClient").values())
    assert client["GenerateSecret"] is False
    assert "ALLOW_USER_SRP_AUTH" in client["ExplicitAuthFlows"]
    assert "ALLOW_USER_PASSWORD_AUTH" not in client["ExplicitAuthFlows"]


def test_the_api_knows_its_public_url_for_twilio_signatures(prod: Synthesized) -> None:
    (http_api_id,) = prod.resources("AWS::ApiGatewayV2::Api")
    env = {h: p["Environment"]["Variables"] for h, (_, p) in prod.functions_by_handler().items()}
    for handler in ("functions.api.handler.handler", "functions.dialer.handler.handler"):
        assert env[handler]["WEBHOOK_BASE_URL"] == {"Fn::GetAtt": [http_api_id, "ApiEndpoint"]}


def test_presigned_uploads_are_allowed_from_the_dashboard_origins_only(prod: Synthesized) -> None:
    (http_api_id,) = prod.resources("AWS::ApiGatewayV2::Api")
    buckets = [
        b["Properties"]
        for b in prod.resources("AWS::S3::Bucket").values()
        if "CorsConfiguration" in b["Properties"]
    ]
    (rule,) = buckets[0]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["PUT"]
    assert rule["AllowedOrigins"] == [
        {"Fn::GetAtt": [http_api_id, "ApiEndpoint"]},
        "https://cobranca.example.com.br",
    ]


def test_the_dashboard_signs_in_through_the_hosted_ui_and_returns_to_its_page(prod: Synthesized) -> None:
    (http_api_id,) = prod.resources("AWS::ApiGatewayV2::Api")
    (client_id, client) = next(iter(prod.resources("AWS::Cognito::UserPoolClient").items()))
    props = client["Properties"]
    assert props["AllowedOAuthFlows"] == ["code"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert set(props["AllowedOAuthScopes"]) == {"openid", "email"}
    page = {"Fn::Join": ["", [{"Fn::GetAtt": [http_api_id, "ApiEndpoint"]}, "/voice/monitor"]]}
    assert page in props["CallbackURLs"] and page in props["LogoutURLs"]
    assert "https://cobranca.example.com.br/voice/monitor" in props["CallbackURLs"]
    (domain,) = (d["Properties"] for d in prod.resources("AWS::Cognito::UserPoolDomain").values())
    _, api = prod.functions_by_handler()["functions.api.handler.handler"]
    env = api["Environment"]["Variables"]
    assert env["COGNITO_CLIENT_ID"] == {"Ref": client_id}
    assert "amazoncognito.com" in json.dumps(env["COGNITO_DOMAIN"])
    assert "Domain" in domain
