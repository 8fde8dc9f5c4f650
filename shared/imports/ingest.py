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

from collections.abc import Iterator
from typing import IO

from shared.adapters import storage
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import imports
from shared.domain.cases import CaseRow
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.models import ImportJob, ImportRowError, ImportStatus
from shared.imports import erp_sync
from shared.imports.pipeline import (
    REPORT_CONTENT_TYPE,
    WRITE_BATCH,
    Rejections,
    Tally,
    case_row,
    check_importable,
    fold_batch,
    log_finished,
    progress,
    start_job,
    store_report,
    upload_key,
)
from shared.imports.rows import iter_rejected_rows_csv, parse_targets
from shared.imports.spreadsheets import SpreadsheetError

__all__ = [
    "REPORT_CONTENT_TYPE",
    "check_importable",
    "get_job",
    "import_targets",
    "import_uploaded",
    "rejected_rows_report",
    "upload_key",
]


def get_job(import_id: str) -> ImportJob:
    """The import job with its counts and rejected rows; `NotFound` if there is none."""
    return imports.get(import_id)


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
    `SpreadsheetError`, a campaign completed while it ran `Conflict`, after the job is recorded as
    failed.
    """
    check_importable(campaign_id)
    started = clock.now()
    job = start_job(
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
    with Rejections() as rejections:
        tally = Tally()
        try:
            batch: list[CaseRow] = []
            pending: list[ImportRowError] = []  # rejected rows since the last write, by line
            for item in parse_targets(stream, filename, today, max_bytes=max_bytes):
                if isinstance(item, ImportRowError):
                    pending.append(item)
                else:
                    batch.append(case_row(item))
                if len(batch) >= WRITE_BATCH or len(pending) >= WRITE_BATCH:
                    # The batch's duplicates join the pending errors before they go to the report,
                    # which so stays in line order: every later row has a higher line.
                    fold_batch(campaign_id, job.id, batch, pending, tally)
                    rejections.add(pending)
                    batch, pending = [], []
            fold_batch(campaign_id, job.id, batch, pending, tally)
            rejections.add(pending)
        except (SpreadsheetError, Conflict) as exc:  # a file unusable as a whole, a campaign completed
            imports.update(job.id, status=ImportStatus.FAILED, failure=exc.message, finished_at=clock.now())
            logger.info("import refused", import_id=job.id, campaign_id=campaign_id, error_code=exc.code)
            raise
        key = store_report(campaign_id, job.id, rejections) if rejections.total else None
    job = imports.update(
        job.id,
        status=ImportStatus.COMPLETED,
        report_key=key,
        finished_at=clock.now(),
        **progress(tally, rejections),
    )
    log_finished("import finished", job, started)
    return job


def import_uploaded(bucket_name: str, key: str, size: int | None) -> ImportJob | None:
    """Import a file that landed in the bucket through a presigned upload (the S3 event path), or
    continue the ERP sync whose `erp_sync.CONTINUE_OBJECT` landed there.

    The key says where it belongs: `uploads/<campaignId>/<importId>/<filename>`. Returns None for
    keys that are not uploads (nothing to do). A file unusable as a whole ends as a failed job (a
    retry would not help); other errors propagate so the invocation is retried.
    """
    parts = key.split("/", 3)
    if len(parts) != 4 or parts[0] != "uploads" or not all(parts[1:]):
        logger.warning("object is not an upload; ignored", key_prefix=parts[0])
        return None
    _, campaign_id, import_id, filename = parts
    if filename == erp_sync.CONTINUE_OBJECT:
        return erp_sync.resume(import_id)
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
