"""CSV exports for Excel pt-BR (UTF-8 with BOM, `;`, decimal comma, formulas escaped), streamed page
by page: a campaign's cases and the promises. Supervisors get the documents masked; admins whole."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from functions.api.auth import Principal, Role
from functions.api.deps import AuthenticateFirst, PeriodEnd, PeriodStart, Supervisor, Viewer
from shared.domain.models import PromiseStatus
from shared.engine import exports
from shared.imports.spreadsheets import iter_csv_bytes

router = APIRouter(prefix="/api/voice", tags=["exports"], route_class=AuthenticateFirst)

CSV_TYPE = "text/csv; charset=utf-8"


@router.get("/campaigns/{campaign_id}/export.csv", response_class=StreamingResponse)
def export_cases(campaign_id: str, principal: Supervisor) -> StreamingResponse:
    """Every case of the campaign: document, name, outcome, state, debt, invoices, promise, last contact."""
    rows = exports.campaign_cases(campaign_id, unmasked=_unmasked(principal))
    return _csv(rows, f"casos-{campaign_id}.csv")


@router.get("/campaigns/{campaign_id}/daily.csv", response_class=StreamingResponse)
def export_daily(
    campaign_id: str,
    _: Viewer,
    start: PeriodStart = None,
    end: PeriodEnd = None,
) -> StreamingResponse:
    """The campaign's daily series (as `/daily`)."""
    return _csv(exports.daily(campaign_id, start, end), f"diario-{campaign_id}.csv")


@router.get("/promises/export.csv", response_class=StreamingResponse)
def export_promises(principal: Supervisor, status: PromiseStatus | None = None) -> StreamingResponse:
    """Every promise (of one status, when given)."""
    return _csv(exports.promises(status=status, unmasked=_unmasked(principal)), "promessas.csv")


def _unmasked(principal: Principal) -> bool:
    return principal.role >= Role.ADMIN


def _csv(rows: Iterator[exports.Row], filename: str) -> StreamingResponse:
    return StreamingResponse(
        iter_csv_bytes(rows),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
