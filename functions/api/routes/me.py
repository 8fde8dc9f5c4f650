"""`/api/me`: who the caller is, so a client (the dashboard) shows only the actions its role allows.
The API enforces the roles anyway; this only avoids offering buttons that would answer 403."""

from __future__ import annotations

from typing import Literal, cast

from fastapi import APIRouter

from functions.api.auth import Role
from functions.api.deps import AuthenticateFirst, Viewer
from functions.api.schemas import Camel

router = APIRouter(prefix="/api", tags=["me"], route_class=AuthenticateFirst)

RoleName = Literal["viewer", "supervisor", "admin"]


class MePublic(Camel):
    subject: str
    role: RoleName
    can_operate: bool  # supervisor or above: activate/pause, transfer, settle promises
    can_administer: bool  # admin: create campaigns, import targets


@router.get("/me", response_model=MePublic)
def me(principal: Viewer) -> MePublic:
    role = principal.role
    return MePublic(
        subject=principal.subject,
        role=cast(RoleName, role.name.lower()),
        can_operate=role >= Role.SUPERVISOR,
        can_administer=role >= Role.ADMIN,
    )
