"""`/api/voice/optouts`: customers who asked never to be contacted again."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from functions.api.deps import AuthenticateFirst, Supervisor, Viewer
from functions.api.pagination import paged
from functions.api.schemas import OptOutCreate, OptOutPublic
from shared.domain.masking import mask_document, mask_phone
from shared.domain.models import OptOut
from shared.engine import optouts as optout_rules

router = APIRouter(prefix="/api/voice/optouts", tags=["optouts"], route_class=AuthenticateFirst)


def _public(optout: OptOut) -> OptOutPublic:
    masked = mask_phone(optout.value) if optout.key.startswith("phone#") else mask_document(optout.value)
    return OptOutPublic(
        key=optout.key.split("#", 1)[0],
        value=masked,
        reason=optout.reason,
        source=optout.source,
        created_at=optout.created_at,
    )


@router.get("", response_model=list[OptOutPublic])
def list_optouts(
    _: Viewer, response: Response, limit: int = Query(50, ge=1, le=500), cursor: str | None = None
) -> list[OptOutPublic]:
    return paged(response, optout_rules.list_page(limit=limit, cursor=cursor), _public)


@router.post("", response_model=list[OptOutPublic], status_code=status.HTTP_201_CREATED)
def add_optout(body: OptOutCreate, _: Supervisor) -> list[OptOutPublic]:
    """Register an opt-out received outside the assistant (phone call to the ISP, e-mail...)."""
    stored = optout_rules.opt_out(
        phone=body.phone_number, document=body.client_document, reason=body.reason, source="api"
    )
    return [_public(optout) for optout in stored]
