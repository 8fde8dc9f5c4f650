"""The supervisor dashboard at `/voice/monitor`: one static page (vanilla ES modules, no build step)
and its small configuration. The page itself needs no login and holds no data; every data call it
makes carries the supervisor's bearer token (SPEC §5).

Sign-in: locally, the supervisor pastes a `COBRANCA_API_TOKENS` token. On AWS, set `COGNITO_DOMAIN`
(the user pool's hosted-UI base URL, e.g. `https://cobranca.auth.sa-east-1.amazoncognito.com`) and
`COGNITO_CLIENT_ID` (the dashboard app client, with the authorization-code grant and
`https://<api>/voice/monitor` as callback and sign-out URL): the page then signs in through the
hosted UI (authorization code + PKCE) and sends the access token.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from shared.core.config import from_environment
from shared.domain.errors import ConfigError

STATIC_DIR = Path(__file__).resolve().parent.parent / "static" / "monitor"
# The only files served: a fixed table, so no request path ever reaches the file system.
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "labels.js": "text/javascript; charset=utf-8",
    "styles.css": "text/css; charset=utf-8",
}
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})

router = APIRouter(tags=["dashboard"], include_in_schema=False)


class DashboardSettings(BaseModel):
    """What the page needs to know before sign-in (nothing secret: the client id is public)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    cognito_domain: str | None = None
    cognito_client_id: str | None = None
    cognito_scopes: str = "openid email"
    dashboard_poll_seconds: float = Field(default=5.0, ge=0.2, le=60)

    @model_validator(mode="after")
    def _cognito_complete(self) -> Self:
        if bool(self.cognito_domain) != bool(self.cognito_client_id):
            raise ValueError("set both COGNITO_DOMAIN and COGNITO_CLIENT_ID, or neither")
        if self.cognito_domain:
            url = urlsplit(self.cognito_domain)
            loopback = url.scheme == "http" and url.hostname in _LOOPBACK_HOSTS
            if not (url.scheme == "https" or loopback) or not url.hostname or url.path not in ("", "/"):
                raise ValueError(
                    "COGNITO_DOMAIN must be an https:// base URL, e.g. https://x.auth.<region>.amazoncognito.com"
                )
        return self


@lru_cache(maxsize=1)
def get_dashboard_settings() -> DashboardSettings:
    """Read once per process; a bad value is a `ConfigError` naming the variable."""
    try:
        return from_environment(DashboardSettings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'COGNITO'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid dashboard configuration: {problems}") from None


def reset_dashboard_settings() -> None:
    get_dashboard_settings.cache_clear()


DashboardSettingsDep = Annotated[DashboardSettings, Depends(get_dashboard_settings)]


class CognitoPublic(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    domain: str
    client_id: str
    scopes: str


class DashboardConfig(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    cognito: CognitoPublic | None
    poll_seconds: float


def _content_security_policy(settings: DashboardSettings) -> str:
    connect = "'self'" + (f" {settings.cognito_domain.rstrip('/')}" if settings.cognito_domain else "")
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def _headers(settings: DashboardSettings) -> dict[str, str]:
    return {
        "Cache-Control": "no-cache",
        "Content-Security-Policy": _content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


@router.get("/voice/monitor", response_class=FileResponse)
def monitor_page(settings: DashboardSettingsDep) -> FileResponse:
    """The dashboard page (no data in it: it signs in and calls the API)."""
    return FileResponse(
        STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=_headers(settings)
    )


@router.get("/voice/monitor/config.json", response_model=DashboardConfig, response_model_by_alias=True)
def monitor_config(settings: DashboardSettingsDep) -> DashboardConfig:
    """How the page signs in (token entry, or Cognito's hosted UI) and how often it refreshes."""
    cognito = (
        CognitoPublic(
            domain=settings.cognito_domain.rstrip("/"),
            client_id=settings.cognito_client_id,
            scopes=settings.cognito_scopes,
        )
        if settings.cognito_domain and settings.cognito_client_id
        else None
    )
    return DashboardConfig(cognito=cognito, poll_seconds=settings.dashboard_poll_seconds)


@router.get("/voice/monitor/{asset}", response_class=FileResponse)
def monitor_asset(asset: str, settings: DashboardSettingsDep) -> FileResponse:
    media_type = ASSETS.get(asset)
    if media_type is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="not found")
    return FileResponse(STATIC_DIR / asset, media_type=media_type, headers=_headers(settings))
