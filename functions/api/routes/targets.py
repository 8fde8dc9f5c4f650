"""Targets of a campaign: import (multipart or presigned S3 upload, or a sync from the ERP), list,
correct, add a phone."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from functions.api.deps import Admin, AuthenticateFirst, SettingsDep, Supervisor, Viewer
from functions.api.pagination import paged
from functions.api.schemas import (
    ImportJobPublic,
    ImportResult,
    PhoneCreate,
    TargetPublic,
    TargetSyncRequest,
    TargetUpdate,
    UploadUrl,
    UploadUrlRequest,
)
from shared.adapters import storage
from shared.adapters.billing import OverdueFilter
from shared.domain.errors import InvalidInput
from shared.domain.ids import new_id
from shared.domain.models import CaseOrder, ImportJob, ImportStatus, Outcome, TargetState
from shared.engine import identity, targets
from shared.imports import erp_sync, ingest
from shared.imports.spreadsheets import SpreadsheetError

router = APIRouter(prefix="/api/voice", tags=["targets"], route_class=AuthenticateFirst)

UPLOAD_URL_SECONDS = 900


@router.post("/campaigns/{campaign_id}/targets/import", response_model=ImportResult)
def import_targets(
    campaign_id: str, file: Annotated[UploadFile, File()], _: Admin, settings: SettingsDep
) -> ImportResult:
    """Synchronous import of a CSV/XLSX up to `MAX_UPLOAD_BYTES` (10 MB); larger files go through
    `targets/upload-url`."""
    ingest.check_importable(campaign_id)
    if file.size is not None and file.size > settings.max_upload_bytes:
        raise SpreadsheetError(
            "file_too_large",
            f"the file has {file.size / 1_048_576:.1f} MB; uploads here are limited to "
            f"{settings.max_upload_bytes / 1_048_576:.0f} MB — use targets/upload-url for larger files",
        )
    job = ingest.import_targets(
        campaign_id, file.file, file.filename, source="upload", max_bytes=settings.max_upload_bytes
    )
    return ImportResult(
        import_id=job.id,
        imported=job.imported,
        customers_created=job.customers_created,
        customers_updated=job.customers_updated,
        duplicates=job.duplicates,
        errors=[error.model_dump() for error in job.errors],  # type: ignore[misc]
    )


@router.post("/campaigns/{campaign_id}/targets/upload-url", response_model=UploadUrl)
def upload_url(campaign_id: str, body: UploadUrlRequest, _: Admin) -> UploadUrl:
    """A presigned S3 PUT for a large file; the ingest worker imports it when the upload lands and
    the job is followed at `GET /api/voice/imports/{importId}`."""
    ingest.check_importable(campaign_id)
    safe_name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in body.filename)
    if not safe_name.lower().endswith((".csv", ".xlsx")):
        raise InvalidInput("only .csv and .xlsx files can be imported", code="unsupported_file_type")
    import_id = new_id()
    key = ingest.upload_key(campaign_id, import_id, safe_name)
    return UploadUrl(
        import_id=import_id,
        upload_url=storage.presigned_put(key, body.content_type, UPLOAD_URL_SECONDS),
        key=key,
        headers={"Content-Type": body.content_type},
        expires_in=UPLOAD_URL_SECONDS,
    )


@router.post(
    "/campaigns/{campaign_id}/targets/sync",
    response_model=ImportJobPublic,
    responses={202: {"description": "the sync goes on in the ingest worker", "model": ImportJobPublic}},
)
def sync_targets(campaign_id: str, body: TargetSyncRequest, response: Response, _: Admin) -> ImportJobPublic:
    """Pull the overdue customers from the ERP (BILLING_SYSTEM), folding their invoices into one case
    each as a spreadsheet import does. 200 with the finished job, or 202 while the ingest worker reads
    the remaining pages (follow it at `GET /api/voice/imports/{importId}`; `importId` in the body
    continues a sync that stopped). 422 when the billing system cannot list overdue customers."""
    filters = OverdueFilter(
        min_days_overdue=body.min_days_overdue,
        max_days_overdue=body.max_days_overdue,
        min_amount=str(body.min_amount) if body.min_amount is not None else None,
        contract_status=body.contract_status,
    )
    job = erp_sync.sync_targets(campaign_id, filters, import_id=body.import_id)
    if job.status is ImportStatus.PROCESSING:
        response.status_code = status.HTTP_202_ACCEPTED
    return _public(job)


@router.get("/imports/{import_id}", response_model=ImportJobPublic)
def get_import(import_id: str, _: Viewer) -> ImportJobPublic:
    return _public(ingest.get_job(import_id))


def _public(job: ImportJob) -> ImportJobPublic:
    public = ImportJobPublic.model_validate(job)
    if job.report_key:
        public.report_url = f"/api/voice/imports/{job.id}/report"
    return public


@router.get("/imports/{import_id}/report", response_class=StreamingResponse)
def import_report(import_id: str, _: Viewer) -> StreamingResponse:
    """Every rejected row with its line and reason, as CSV (UTF-8 BOM, `;`) for Excel."""
    job = ingest.get_job(import_id)
    return StreamingResponse(
        ingest.rejected_rows_report(job),
        media_type=ingest.REPORT_CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="linhas-rejeitadas-{import_id}.csv"'},
    )


@router.get("/campaigns/{campaign_id}/targets", response_model=list[TargetPublic])
def list_targets(
    campaign_id: str,
    _: Viewer,
    response: Response,
    state: TargetState | None = None,
    outcome: Outcome | None = None,
    sort: Annotated[
        CaseOrder | None,
        Query(description="`amount`: the largest debt first; `age`: the longest overdue first"),
    ] = None,
    order: Annotated[
        Literal["asc", "desc"], Query(description="with `sort`: `asc` reverses it (smallest / newest first)")
    ] = "desc",
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> list[TargetPublic]:
    """A page of the campaign's cases (`X-Next-Cursor` for the next), of one `state` and/or `outcome`
    when given, sorted by `sort` (by default the longest overdue first). With a filter a page may hold
    fewer than `limit` cases while a cursor still follows."""
    page = targets.list_for_campaign(
        campaign_id,
        state=state,
        outcome=outcome,
        limit=limit,
        cursor=cursor,
        order=sort,
        ascending=order == "asc",
    )
    return paged(response, page, TargetPublic.of)


@router.patch("/targets/{target_id}", response_model=TargetPublic, status_code=status.HTTP_200_OK)
def update_target(target_id: str, body: TargetUpdate, _: Supervisor) -> TargetPublic:
    changes = body.model_dump(exclude_unset=True)
    next_attempt_at = changes.pop("next_attempt_at", None)
    return TargetPublic.of(targets.correct(target_id, changes, next_attempt_at=next_attempt_at))


@router.post("/targets/{target_id}/phones", response_model=TargetPublic)
def add_phone(target_id: str, body: PhoneCreate, principal: Supervisor) -> TargetPublic:
    """Put a phone on the customer's case (recorded: who, when): from then on the customer may be
    served from it once they give their document."""
    return TargetPublic.of(identity.add_phone(target_id, body.phone_number, by=principal.subject))
