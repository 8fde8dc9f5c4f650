"""Importing a campaign's targets from a spreadsheet — one flow for both paths: the synchronous
multipart upload (functions/api) and the S3 upload processed by functions/ingest.

Rows are validated as they stream in and written in batches; the good part of a file is always
kept; every rejected row (with its line and reason) goes to a CSV report in the import bucket.
Target ids are deterministic, so importing the same file twice — or an S3 event delivered twice —
never doubles a target: the second time, its rows come back as duplicates.
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
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id, target_id
from shared.domain.models import CampaignStatus, ImportJob, ImportRowError, ImportStatus, Target
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
        imported = 0
        try:
            batch: list[tuple[int, Target]] = []
            pending: list[ImportRowError] = []  # rejected rows since the last write, by line
            for item in parse_targets(stream, filename, today, max_bytes=max_bytes):
                if isinstance(item, ImportRowError):
                    pending.append(item)
                else:
                    batch.append((item.line, _target(campaign_id, job.id, item)))
                if len(batch) >= WRITE_BATCH or len(pending) >= WRITE_BATCH:
                    # The batch's duplicates join the pending errors before they go to the report,
                    # which so stays in line order: every later row has a higher line.
                    imported += _write(batch, pending)
                    rejections.add(pending)
                    batch, pending = [], []
            imported += _write(batch, pending)
            rejections.add(pending)
        except SpreadsheetError as exc:
            imports.update(job.id, status=ImportStatus.FAILED, failure=exc.message, finished_at=clock.now())
            logger.info("import refused", import_id=job.id, campaign_id=campaign_id, error_code=exc.code)
            raise
        key = _store_report(campaign_id, job.id, rejections) if rejections.total else None
    job = imports.update(
        job.id,
        status=ImportStatus.COMPLETED,
        total_rows=imported + rejections.total,
        imported=imported,
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
        duplicates=job.duplicates,
        rejected=job.rejected,
        seconds=round((clock.now() - started).total_seconds(), 3),
    )
    return job


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
    (target ids are deterministic, so rows stored by the first run come back as duplicates)."""
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


def _target(campaign_id: str, import_id: str, row: TargetRow) -> Target:
    now = clock.now()
    return Target(
        id=target_id(campaign_id, row.document, row.invoice_number),
        campaign_id=campaign_id,
        client_name=row.client_name,
        phone=row.phone,
        document=row.document,
        installation_point=row.installation_point,
        debt_amount=row.debt_amount,
        invoice_number=row.invoice_number,
        invoice_due_date=row.invoice_due_date,
        next_attempt_at=now,
        import_id=import_id,
        created_at=now,
        updated_at=now,
    )


def _write(batch: list[tuple[int, Target]], errors: list[ImportRowError]) -> int:
    """Insert a batch; rows already in the campaign become `duplicate` errors. Returns inserted."""
    if not batch:
        return 0
    inserted, duplicate_ids = targets.insert_new(target for _, target in batch)
    if duplicate_ids:
        line_of = {target.id: line for line, target in batch}
        errors.extend(
            ImportRowError(
                line=line_of[target_id_],
                field="document",
                code="duplicate",
                message="this document and invoice are already in the campaign",
            )
            for target_id_ in duplicate_ids
        )
    return len(inserted)


def _store_report(campaign_id: str, import_id: str, rejections: _Rejections) -> str | None:
    if not get_settings().import_bucket:
        logger.warning("no IMPORT_BUCKET configured: rejected-rows report not stored", import_id=import_id)
        return None
    key = report_key(campaign_id, import_id)
    storage.put_file(key, rejections.report, REPORT_CONTENT_TYPE)
    return key
