"""Bearer tokens and roles (SPEC §5): 401 without valid credentials, 403 for a role too low."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.api.conftest import Api


def test_request_without_token_is_401_with_bearer_challenge(api: Api) -> None:
    response = api.client.get("/api/voice/campaigns")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "missing bearer token"


def test_unknown_token_is_401(api: Api) -> None:
    response = api.client.get("/api/voice/campaigns", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid token"


def test_basic_auth_scheme_is_not_a_bearer_token(api: Api) -> None:
    response = api.client.get("/api/voice/campaigns", headers={"Authorization": "Basic YWRtaW4tdG9rZW4="})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "expected"),
    [("viewer", 403), ("supervisor", 403), ("admin", 201)],
)
def test_only_admins_create_campaigns(api: Api, role: str, expected: int) -> None:
    response = api.post("/api/voice/campaigns", role=role, json={"name": "X", "contactMethod": "voice"})
    assert response.status_code == expected
    if expected == 403:
        assert response.json()["detail"] == "this action needs the admin role"


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("supervisor", 200), ("admin", 200)])
def test_supervisors_and_admins_activate(api: Api, role: str, expected: int) -> None:
    campaign = api.create_campaign()
    response = api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role=role)
    assert response.status_code == expected


@pytest.mark.parametrize("role", ["viewer", "supervisor", "admin"])
def test_every_role_reads(api: Api, role: str) -> None:
    assert api.get("/api/voice/campaigns", role=role).status_code == 200
    assert api.get("/api/voice/metrics", role=role).status_code == 200


def test_import_needs_admin(api: Api) -> None:
    campaign = api.create_campaign()
    response = api.import_csv(campaign["id"], "nome;telefone;cpf;valor\n", role="supervisor")
    assert response.status_code == 403


def test_openapi_document_is_served(api: Api) -> None:
    response = api.client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/voice/campaigns/{campaign_id}/targets/import" in paths
    assert "/api/voice/metrics" in paths
    schemas = response.json()["components"]["schemas"]
    for model in ("ConversationDetail", "QueueEntry"):  # why the desk cannot reply now, for the dashboard
        assert "replyBlockedReason" in schemas[model]["properties"]
    assert schemas["ReplyBlocked"]["enum"] == ["opted_out", "whatsapp_window_closed"]
    assert {"openAmount", "openAmountAt"} <= set(schemas["TargetPublic"]["properties"])


def _apigw_event(path: str, claims: dict[str, Any] | None) -> dict[str, Any]:
    authorizer = {"jwt": {"claims": claims, "scopes": None}} if claims is not None else {}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.com", "x-forwarded-proto": "https", "x-forwarded-port": "443"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "authorizer": authorizer,
            "domainName": "api.example.com",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "1.2.3.4",
                "userAgent": "t",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "10/Mar/2025:12:00:00 +0000",
            "timeEpoch": 1741608000000,
        },
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"sub": "u1", "cognito:groups": "[viewer]"}, 200),
        ({"sub": "u1", "cognito:groups": ["admin", "viewer"]}, 200),
        ({"sub": "u1"}, 401),
        (None, 401),
    ],
)
def test_cognito_groups_from_the_lambda_event(
    api: Api, monkeypatch: pytest.MonkeyPatch, claims: dict[str, Any] | None, expected: int
) -> None:
    """On AWS the HTTP API's JWT authorizer verified the token; the API reads the groups it passes."""
    from shared.core.config import reset_settings

    monkeypatch.setenv("COBRANCA_AUTH_MODE", "cognito")
    reset_settings()
    from functions.api.handler import handler

    result = handler(_apigw_event("/api/voice/campaigns", claims), None)
    assert result["statusCode"] == expected, result["body"]
    if expected == 200:
        assert json.loads(result["body"]) == []


def test_cognito_viewer_cannot_create(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.api.auth import principal_from_claims

    principal = principal_from_claims({"sub": "u", "cognito:groups": "[viewer supervisor]"})
    assert principal.role.name == "SUPERVISOR"
