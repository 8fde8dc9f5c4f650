"""Signing in through Cognito's hosted UI (authorization code + PKCE), against a stand-in for the
hosted UI on loopback that checks what Cognito checks: client, redirect URI, state and the PKCE
verifier."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from playwright.sync_api import expect

from functions.api.routes.dashboard import DashboardSettings, get_dashboard_settings
from infra.local.simulators.server import serve_in_thread
from tests.browser.conftest import POLL_SECONDS, TOKENS, Dashboard

pytestmark = pytest.mark.browser

CLIENT_ID = "dashboard-client-id"


@dataclass
class HostedUi:
    """The three hosted-UI endpoints the dashboard uses; the access token it issues is one the API
    accepts (the local token table stands in for API Gateway's JWT authorizer)."""

    redirect_uri: str
    challenges: dict[str, str] = field(default_factory=dict)
    exchanges: list[dict[str, str]] = field(default_factory=list)
    logouts: int = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/oauth2/authorize")
        def authorize(request: Request) -> Any:
            q = request.query_params
            assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID
            assert q["redirect_uri"] == self.redirect_uri and q["code_challenge_method"] == "S256"
            assert q["scope"] == "openid email"
            code = secrets.token_urlsafe(8)
            self.challenges[code] = q["code_challenge"]
            return RedirectResponse(f"{q['redirect_uri']}?code={code}&state={q['state']}", status_code=302)

        @app.post("/oauth2/token")
        async def token(request: Request) -> JSONResponse:
            form = {k: str(v) for k, v in (await request.form()).items()}
            self.exchanges.append(form)
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            verified = base64.urlsafe_b64encode(digest).decode().rstrip("=") == self.challenges.get(
                form.get("code", "")
            )
            ok = (
                verified
                and form.get("grant_type") == "authorization_code"
                and form.get("client_id") == CLIENT_ID
            )
            body = (
                {
                    "access_token": TOKENS["admin"],
                    "id_token": "id",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
                if ok and form.get("redirect_uri") == self.redirect_uri
                else {"error": "invalid_grant"}
            )
            return JSONResponse(
                body,
                status_code=200 if "access_token" in body else 400,
                headers={"Access-Control-Allow-Origin": "*"},
            )

        @app.get("/logout")
        def logout(client_id: str, logout_uri: str) -> RedirectResponse:
            assert client_id == CLIENT_ID
            self.logouts += 1
            return RedirectResponse(logout_uri, status_code=302)

        return app


@pytest.fixture
def hosted_ui(dashboard: Dashboard) -> Iterator[HostedUi]:
    ui = HostedUi(redirect_uri=dashboard.monitor)
    server = serve_in_thread(ui.app())
    dashboard.app.dependency_overrides[get_dashboard_settings] = lambda: DashboardSettings(
        cognito_domain=server.url, cognito_client_id=CLIENT_ID, dashboard_poll_seconds=POLL_SECONDS
    )
    try:
        yield ui
    finally:
        server.stop()


def test_with_cognito_configured_the_page_signs_in_through_the_hosted_ui_with_pkce(
    page: Any, dashboard: Dashboard, hosted_ui: HostedUi
) -> None:
    page.goto(dashboard.monitor)
    expect(page.get_by_label("Token de acesso")).to_be_hidden()
    page.get_by_role("button", name="Entrar com a conta corporativa").click()

    expect(page.locator("#whoami")).to_have_text("Administração")
    assert page.url == f"{dashboard.monitor}#/painel"  # the code left the address bar
    [exchange] = hosted_ui.exchanges
    assert len(exchange["code_verifier"]) >= 43 and exchange["code"] in hosted_ui.challenges
    assert page.evaluate("sessionStorage.getItem('cobranca.pkce')") is None

    page.get_by_role("button", name="Sair").click()
    expect(page.get_by_role("button", name="Entrar com a conta corporativa")).to_be_visible()
    assert hosted_ui.logouts == 1
    assert page.evaluate("sessionStorage.getItem('cobranca.token')") is None


def test_a_callback_with_a_foreign_state_is_refused(
    page: Any, dashboard: Dashboard, hosted_ui: HostedUi
) -> None:
    page.goto(f"{dashboard.monitor}?code=stolen&state=forged")

    expect(page.get_by_role("alert")).to_have_text("Resposta de login inválida. Tente de novo.")
    assert hosted_ui.exchanges == []
    assert "code=" not in page.url
