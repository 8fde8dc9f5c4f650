"""FastAPI dependency aliases: settings and the caller's role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status

from functions.api.auth import Principal, Role, Unauthenticated, principal_from_claims, principal_from_token
from shared.core.config import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_principal(request: Request, settings: SettingsDep) -> Principal:
    """Authenticate the request (401 on failure)."""
    try:
        if settings.cobranca_auth_mode == "cognito":
            event = request.scope.get("aws.event") or {}
            claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims")
            if not claims:
                raise Unauthenticated("missing JWT claims")
            return principal_from_claims(claims)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("missing bearer token")
        return principal_from_token(token.strip(), settings)
    except Unauthenticated as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail=str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None


def require(role: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through callers with at least `role` (403 otherwise)."""

    def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role < role:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"this action needs the {role.name.lower()} role"
            )
        return principal

    return dependency


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Supervisor = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

# The period of a daily series (`?from=YYYY-MM-DD&to=YYYY-MM-DD`; `from` is a Python keyword).
PeriodStart = Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD (30 days ago)")]
PeriodEnd = Annotated[date | None, Query(alias="to", description="last day, YYYY-MM-DD (today)")]
