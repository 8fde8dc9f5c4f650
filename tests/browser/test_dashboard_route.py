"""The routes behind the dashboard, without a browser: the page and its assets (and nothing else from
disk), its configuration, and `/api/me`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from functions.api.app import create_app
from functions.api.routes.dashboard import DashboardSettings, get_dashboard_settings, reset_dashboard_settings
from shared.core.config import reset_settings
from shared.domain.errors import ConfigError
from tests.browser.conftest import TOKENS


@pytest.fixture
def client(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("COBRANCA_API_TOKENS", ",".join(f"{role}:{token}" for role, token in TOKENS.items()))
    for name in ("COGNITO_DOMAIN", "COGNITO_CLIENT_ID", "DASHBOARD_POLL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    reset_dashboard_settings()
    with TestClient(create_app()) as test_client:
        yield test_client
    reset_dashboard_settings()


def test_the_page_needs_no_login_and_is_locked_down_by_its_headers(client: TestClient) -> None:
    response = client.get("/voice/monitor")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="pt-BR">' in response.text and "Monitor de Cobranças" in response.text
    policy = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy
        and "connect-src 'self';" in policy
        and "frame-ancestors 'none'" in policy
    )
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("asset", "media_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("api.js", "text/javascript; charset=utf-8"),
        ("labels.js", "text/javascript; charset=utf-8"),
        ("styles.css", "text/css; charset=utf-8"),
    ],
)
def test_the_assets_are_served_with_their_types(client: TestClient, asset: str, media_type: str) -> None:
    response = client.get(f"/voice/monitor/{asset}")

    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/voice/monitor/index.htm",
        "/voice/monitor/..%2F..%2Fapp.py",
        "/voice/monitor/%2e%2e%2fschemas.py",
        "/voice/monitor/.env",
    ],
)
def test_nothing_but_the_listed_assets_is_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_without_cognito_the_page_asks_for_a_token(client: TestClient) -> None:
    assert client.get("/voice/monitor/config.json").json() == {"cognito": None, "pollSeconds": 5.0}


def test_with_cognito_the_page_learns_the_hosted_ui_and_may_call_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COGNITO_DOMAIN", "https://cobranca.auth.sa-east-1.amazoncognito.com/")
    monkeypatch.setenv("COGNITO_CLIENT_ID", "abc123")
    reset_dashboard_settings()

    config = client.get("/voice/monitor/config.json").json()
    policy = client.get("/voice/monitor").headers["content-security-policy"]

    assert config["cognito"] == {
        "domain": "https://cobranca.auth.sa-east-1.amazoncognito.com",
        "clientId": "abc123",
        "scopes": "openid email",
    }
    assert "connect-src 'self' https://cobranca.auth.sa-east-1.amazoncognito.com;" in policy


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        (
            {"COGNITO_DOMAIN": "https://x.auth.sa-east-1.amazoncognito.com"},
            "set both COGNITO_DOMAIN and COGNITO_CLIENT_ID",
        ),
        (
            {"COGNITO_DOMAIN": "http://x.example.com", "COGNITO_CLIENT_ID": "a"},
            "must be an https:// base URL",
        ),
        ({"DASHBOARD_POLL_SECONDS": "0"}, "DASHBOARD_POLL_SECONDS"),
    ],
)
def test_a_bad_dashboard_configuration_is_named_at_startup(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], problem: str
) -> None:
    for name in ("COGNITO_DOMAIN", "COGNITO_CLIENT_ID", "DASHBOARD_POLL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_dashboard_settings()
    try:
        with pytest.raises(ConfigError, match=problem):
            get_dashboard_settings()
    finally:
        reset_dashboard_settings()


def test_loopback_hosted_ui_is_allowed_for_tests_and_the_sandbox() -> None:
    settings = DashboardSettings(cognito_domain="http://127.0.0.1:9000", cognito_client_id="local")
    assert settings.cognito_domain == "http://127.0.0.1:9000"


def test_api_me_names_the_callers_role_and_refuses_strangers(client: TestClient) -> None:
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    me = client.get("/api/me", headers={"Authorization": f"Bearer {TOKENS['supervisor']}"}).json()
    assert me == {
        "subject": "token:supervisor",
        "role": "supervisor",
        "canOperate": True,
        "canAdminister": False,
    }
