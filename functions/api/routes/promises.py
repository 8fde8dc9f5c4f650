"""`/api/voice/promises`: the payment promises and their lifecycle."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from functions.api.deps import AuthenticateFirst, Supervisor, Viewer
from functions.api.pagination import paged
from functions.api.schemas import PromisePublic, PromiseUpdate
from shared.domain.models import PromiseStatus
from shared.engine import promises as promise_rules

router = APIRouter(prefix="/api/voice/promises", tags=["promises"], route_class=AuthenticateFirst)


@router.get("", response_model=list[PromisePublic])
def list_promises(
    _: Viewer,
    response: Response,
    status: PromiseStatus | None = None,
    contact_document: str | None = Query(None, alias="contactDocument"),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> list[PromisePublic]:
    """Pending promises come soonest-due first (the dashboard's alert list)."""
    page = promise_rules.list_page(status=status, document=contact_document, limit=limit, cursor=cursor)
    return paged(response, page, PromisePublic.of)


@router.get("/{promise_id}", response_model=PromisePublic)
def get_promise(promise_id: str, _: Viewer) -> PromisePublic:
    return PromisePublic.of(promise_rules.get(promise_id))


@router.patch("/{promise_id}", response_model=PromisePublic)
def update_promise(promise_id: str, body: PromiseUpdate, _: Supervisor) -> PromisePublic:
    """Supervisors add notes or settle a pending promise (fulfilled, broken, renegotiated)."""
    promise = promise_rules.supervisor_update(promise_id, status=body.status, notes=body.notes)
    return PromisePublic.of(promise)
