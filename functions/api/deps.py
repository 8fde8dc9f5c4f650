"""FastAPI dependency aliases: settings and the caller's role; routes that authenticate before they
read the body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, Response, status
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

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


class AuthenticateFirst(APIRoute):
    """A route that authenticates its caller before it reads the request body.

    FastAPI parses a JSON or form body before it solves the dependencies, so without this a stranger
    sending a malformed body gets a 400/422 describing it instead of a 401 — and the body is parsed
    for anyone. Routes without a principal dependency (the webhooks, which authenticate themselves,
    and the dashboard's page) are left as they are. The role check (403) stays in the dependency.
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        if not _needs_principal(self.dependant):
            return handler

        async def authenticated_first(request: Request) -> Response:
            overrides = request.app.dependency_overrides
            current_principal(request, overrides.get(get_settings, get_settings)())
            return await handler(request)

        return authenticated_first


def _needs_principal(dependant: Dependant) -> bool:
    return any(dep.call is current_principal or _needs_principal(dep) for dep in dependant.dependencies)


# The period of a daily series (`?from=YYYY-MM-DD&to=YYYY-MM-DD`; `from` is a Python keyword).
PeriodStart = Annotated[date | None, Query(alias="from", description="first day, YYYY-MM-DD (30 days ago)")]
PeriodEnd = Annotated[date | None, Query(alias="to", description="last day, YYYY-MM-DD (today)")]
