"""Importing a campaign's targets from a spreadsheet — one flow for both paths: the synchronous
multipart upload (functions/api) and the S3 upload processed by functions/ingest.

Rows are validated as they stream in and written in batches; the good part of a file is always
kept; every rejected row (with its line and reason) goes to a CSV report in the import bucket.
Each row is one invoice; the rows of one customer fold into the customer's one case in the campaign
(`shared.domain.cases`), created by the first import that names them and extended by later ones.
Importing the same file twice — or an S3 event delivered twice — never doubles a case or an
invoice: the second time, its rows come back as duplicates.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from operator import attrgetter
from typing import IO

from shared.adapters import storage
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import campaigns, imports, targets
from shared.domain.cases import MAX_INVOICES_PER_CASE, CaseRow, fold_rows
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.models import CampaignStatus, ImportJob, ImportRowError, ImportStatus, Invoice
from shared.imports.rows import TargetRow, iter_rejected_rows_csv, parse_targets
from shared.imports.spreadsheets import SpreadsheetError

WRITE_BATCH = 500
ERRORS_IN_RESPONSE = 200  # the API answer carries the first ones; the report has them all
REPORT_CONTENT_TYPE = "text/csv; charset=utf-8"


def report_key(campaign_id: str, import_id: str) -> str:
    return f"reports/{campaign_id}/{import_id}/linhas-rejeitadas.csv"


def upload_key(campaign_id: str, import_id: str, filename: str) -> str:
    return f"uploads/{campaign_id}/{import_id}/{filename}"


def get_job(import_id: str) -> ImportJob:
    """The import job with its counts and rejected rows; `NotFound` if there is none."""
    return imports.get(import_id)


def check_importable(campaign_id: str) -> None:
    """Targets may be added to any campaign that is not completed (`Conflict`, `NotFound`)."""
    campaign = campaigns.get(campaign_id)
    if campaign.status is CampaignStatus.COMPLETED:
        raise Conflict(f"campaign {campaign_id} is completed: no targets can be added")


def import_targets(
    campaign_id: str,
    stream: IO[bytes],
    filename: str | None,
    *,
    source: str = "upload",
    import_id: str | None = None,
    max_bytes: int | None = None,
) -> ImportJob:
    """Validate and store every row of `stream`; returns the finished import job.

    A file that is unusable as a whole (empty, wrong type, missing columns...) raises
    `SpreadsheetError` after the job is recorded as failed.
    """
    check_importable(campaign_id)
    started = clock.now()
    job = _start_job(
        ImportJob(
            id=import_id or new_id(),
            campaign_id=campaign_id,
            filename=filename,
            source=source,
            created_at=started,
        )
    )
    if job.status is ImportStatus.COMPLETED:
        return job
    today = started.astimezone(get_settings().default_zone).date()
    with _Rejections() as rejections:
        tally = _Tally()
        try:
            batch: list[CaseRow] = []
            pending: list[ImportRowError] = []  # rejected rows since the last write, by line
            for item in parse_targets(stream, filename, today, max_bytes=max_bytes):
                if isinstance(item, ImportRowError):
                    pending.append(item)
                else:
                    batch.append(_case_row(item))
                if len(batch) >= WRITE_BATCH or len(pending) >= WRITE_BATCH:
                    # The batch's duplicates join the pending errors before they go to the report,
                    # which so stays in line order: every later row has a higher line.
                    _write(campaign_id, job.id, batch, pending, tally)
                    rejections.add(pending)
                    batch, pending = [], []
            _write(campaign_id, job.id, batch, pending, tally)
            rejections.add(pending)
        except SpreadsheetError as exc:
            imports.update(job.id, status=ImportStatus.FAILED, failure=exc.message, finished_at=clock.now())
            logger.info("import refused", import_id=job.id, campaign_id=campaign_id, error_code=exc.code)
            raise
        key = _store_report(campaign_id, job.id, rejections) if rejections.total else None
    imported = tally.imported
    job = imports.update(
        job.id,
        status=ImportStatus.COMPLETED,
        total_rows=imported + rejections.total,
        imported=imported,
        customers_created=len(tally.created),
        customers_updated=len(tally.updated - tally.created),
        duplicates=rejections.duplicates,
        rejected=rejections.total - rejections.duplicates,
        errors=rejections.first,
        report_key=key,
        finished_at=clock.now(),
    )
    logger.info(
        "import finished",
        import_id=job.id,
        campaign_id=campaign_id,
        imported=imported,
        customers_created=job.customers_created,
        customers_updated=job.customers_updated,
        duplicates=job.duplicates,
        rejected=job.rejected,
        seconds=round((clock.now() - started).total_seconds(), 3),
    )
    return job


class _Tally:
    """What one import did so far: rows accepted, and the cases it created or extended (a case
    created by an earlier batch of the same file and extended by a later one counts as created)."""

    def __init__(self) -> None:
        self.imported = 0
        self.created: set[str] = set()
        self.updated: set[str] = set()


class _Rejections:
    """The rejected rows of one import, added in line order: counted, the first few kept for the API
    answer, all written to the CSV report as they come — in a temporary file that stays in memory
    while small and spills to disk after, so a file of a million bad rows never fills the memory."""

    def __init__(self) -> None:
        self.report = tempfile.SpooledTemporaryFile(max_size=storage.SPOOL_IN_MEMORY_BYTES)
        self.first: list[ImportRowError] = []
        self.total = 0
        self.duplicates = 0

    def __enter__(self) -> _Rejections:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.report.close()

    def add(self, errors: list[ImportRowError]) -> None:
        if not errors:
            return
        errors.sort(key=attrgetter("line"))
        for chunk in iter_rejected_rows_csv(errors, start=self.total == 0):
            self.report.write(chunk)
        self.first.extend(errors[: ERRORS_IN_RESPONSE - len(self.first)])
        self.total += len(errors)
        self.duplicates += sum(1 for error in errors if error.code == "duplicate")


def import_uploaded(bucket_name: str, key: str, size: int | None) -> ImportJob | None:
    """Import a file that landed in the bucket through a presigned upload (the S3 event path).

    The key says where it belongs: `uploads/<campaignId>/<importId>/<filename>`. Returns None for
    keys that are not uploads (nothing to do). A file unusable as a whole ends as a failed job (a
    retry would not help); other errors propagate so the invocation is retried.
    """
    parts = key.split("/", 3)
    if len(parts) != 4 or parts[0] != "uploads" or not all(parts[1:]):
        logger.warning("object is not an upload; ignored", key_prefix=parts[0])
        return None
    _, campaign_id, import_id, filename = parts
    limit = get_settings().max_s3_upload_bytes
    if size is not None and size > limit:
        return _fail_job(
            campaign_id,
            import_id,
            filename,
            f"the file has {size / 1_048_576:.0f} MB; the limit is {limit / 1_048_576:.0f} MB",
        )
    with storage.open_object(key, bucket_name=bucket_name) as stream:
        try:
            return import_targets(
                campaign_id, stream, filename, source="s3", import_id=import_id, max_bytes=limit
            )
        except (SpreadsheetError, NotFound, Conflict) as exc:
            logger.info("uploaded file refused", import_id=import_id, error_code=exc.code)
            return _fail_job(campaign_id, import_id, filename, exc.message)


def rejected_rows_report(job: ImportJob) -> Iterator[bytes]:
    """The stored rejected-rows CSV of a finished import (empty report if nothing was rejected)."""
    if job.report_key is None:
        return iter_rejected_rows_csv([])
    return iter([storage.read_bytes(job.report_key)])


def _start_job(job: ImportJob) -> ImportJob:
    """Record the job; a redelivered S3 event finds it: done → returned as is, unfinished → re-run
    (a case is found by its customer and an invoice by its number, so rows stored by the first run
    come back as duplicates)."""
    try:
        return imports.create(job)
    except Conflict:
        existing = imports.get(job.id)
        if existing.status is ImportStatus.COMPLETED:
            return existing
        return imports.update(job.id, status=ImportStatus.PROCESSING, failure=None)


def _fail_job(campaign_id: str, import_id: str, filename: str, reason: str) -> ImportJob:
    try:
        job = imports.get(import_id)
    except NotFound:
        job = imports.create(
            ImportJob(
                id=import_id, campaign_id=campaign_id, filename=filename, source="s3", created_at=clock.now()
            )
        )
    if job.status is ImportStatus.COMPLETED:
        return job
    return imports.update(import_id, status=ImportStatus.FAILED, failure=reason, finished_at=clock.now())


def _case_row(row: TargetRow) -> CaseRow:
    invoice = Invoice(
        invoice_number=row.invoice_number,
        amount=row.debt_amount,
        due_date=row.invoice_due_date,
        installation_point=row.installation_point,
    )
    return CaseRow(row.line, row.document, row.client_name, row.phone, invoice)


def _write(
    campaign_id: str, import_id: str, batch: list[CaseRow], errors: list[ImportRowError], tally: _Tally
) -> None:
    """Fold a batch into the customers' cases; rows whose invoice the case already has become
    `duplicate` errors, rows past the cap `too_many_invoices`."""
    if not batch:
        return
    for folded in targets.fold_in(campaign_id, fold_rows(batch), import_id):
        merge = folded.merge
        tally.imported += len(merge.added)
        if folded.created:
            tally.created.add(folded.target.id)
        elif merge.added:
            tally.updated.add(folded.target.id)
        errors.extend(
            ImportRowError(
                line=row.line,
                field="document",
                code="duplicate",
                message="this customer already has this invoice in the campaign"
                if row.invoice.invoice_number
                else "this customer already has an invoice without a number in the campaign",
            )
            for row in merge.duplicates
        )
        errors.extend(
            ImportRowError(
                line=row.line,
                field="invoice_number",
                code="too_many_invoices",
                message=f"this customer already has {MAX_INVOICES_PER_CASE} invoices in the campaign",
            )
            for row in merge.over_cap
        )


def _store_report(campaign_id: str, import_id: str, rejections: _Rejections) -> str | None:
    if not get_settings().import_bucket:
        logger.warning("no IMPORT_BUCKET configured: rejected-rows report not stored", import_id=import_id)
        return None
    key = report_key(campaign_id, import_id)
    storage.put_file(key, rejections.report, REPORT_CONTENT_TYPE)
    return key
