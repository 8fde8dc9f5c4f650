"""The steps every import of a campaign's targets shares, whatever the rows come from (a spreadsheet:
`shared.imports.ingest`; the ISP's ERP: `shared.imports.erp_sync`): the import job, folding rows into
the customers' cases, the tally, and the rejected-rows report.
"""

from __future__ import annotations

import io
import tempfile
from datetime import datetime
from operator import attrgetter
from typing import Any

from shared.adapters import storage
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import campaigns, imports, targets
from shared.domain.cases import MAX_INVOICES_PER_CASE, CaseRow, fold_rows
from shared.domain.errors import Conflict
from shared.domain.models import CampaignStatus, ImportJob, ImportRowError, ImportStatus, Invoice
from shared.imports.rows import TargetRow, iter_rejected_rows_csv

WRITE_BATCH = 500
ERRORS_IN_RESPONSE = 200  # the API answer carries the first ones; the report has them all
REPORT_CONTENT_TYPE = "text/csv; charset=utf-8"


def report_key(campaign_id: str, import_id: str) -> str:
    return f"reports/{campaign_id}/{import_id}/linhas-rejeitadas.csv"


def upload_key(campaign_id: str, import_id: str, filename: str) -> str:
    return f"uploads/{campaign_id}/{import_id}/{filename}"


def case_row(row: TargetRow) -> CaseRow:
    """A valid row as the invoice it adds to its customer's case."""
    invoice = Invoice(
        invoice_number=row.invoice_number,
        amount=row.debt_amount,
        due_date=row.invoice_due_date,
        installation_point=row.installation_point,
    )
    return CaseRow(row.line, row.document, row.client_name, row.phone, invoice)


def check_importable(campaign_id: str) -> None:
    """Targets may be added to any campaign that is not completed (`Conflict`, `NotFound`)."""
    campaign = campaigns.get(campaign_id)
    if campaign.status is CampaignStatus.COMPLETED:
        raise Conflict(f"campaign {campaign_id} is completed: no targets can be added")


def start_job(job: ImportJob) -> ImportJob:
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


class Tally:
    """What one import did so far: rows accepted, and the cases it created or extended (a case it
    created in an earlier batch or run and extended in a later one counts as created only). A
    resumed import (`job`) counts on from what its earlier runs recorded."""

    def __init__(self, job: ImportJob | None = None) -> None:
        self.imported = job.imported if job else 0
        self._carried = (job.customers_created, job.customers_updated) if job else (0, 0)
        self.created: set[str] = set()
        self.updated: set[str] = set()

    @property
    def customers_created(self) -> int:
        return self._carried[0] + len(self.created)

    @property
    def customers_updated(self) -> int:
        return self._carried[1] + len(self.updated)


class Rejections:
    """The rejected rows of one import, added in line order: counted, the first few kept for the API
    answer, all written to the CSV report as they come — in a temporary file that stays in memory
    while small and spills to disk after, so a file of a million bad rows never fills the memory.
    A resumed import (`job`) starts from the rows its earlier runs rejected, its report included."""

    def __init__(self, job: ImportJob | None = None) -> None:
        self.report = tempfile.SpooledTemporaryFile(max_size=storage.SPOOL_IN_MEMORY_BYTES)
        self.first: list[ImportRowError] = list(job.errors) if job else []
        self.total = job.rejected + job.duplicates if job else 0
        self.duplicates = job.duplicates if job else 0
        if job is not None and job.report_key is not None:
            self.report.write(storage.read_bytes(job.report_key))

    def __enter__(self) -> Rejections:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.report.close()

    def add(self, errors: list[ImportRowError]) -> None:
        if not errors:
            return
        errors.sort(key=attrgetter("line"))
        self.report.seek(0, io.SEEK_END)  # storing the report so far read it from the start
        for chunk in iter_rejected_rows_csv(errors, start=self.total == 0):
            self.report.write(chunk)
        self.first.extend(errors[: ERRORS_IN_RESPONSE - len(self.first)])
        self.total += len(errors)
        self.duplicates += sum(1 for error in errors if error.code == "duplicate")


def progress(tally: Tally, rejections: Rejections) -> dict[str, Any]:
    """The job's counts so far, as `imports.update` takes them."""
    return {
        "total_rows": tally.imported + rejections.total,
        "imported": tally.imported,
        "customers_created": tally.customers_created,
        "customers_updated": tally.customers_updated,
        "duplicates": rejections.duplicates,
        "rejected": rejections.total - rejections.duplicates,
        "errors": rejections.first,
    }


def fold_batch(
    campaign_id: str,
    import_id: str,
    batch: list[CaseRow],
    errors: list[ImportRowError],
    tally: Tally,
    *,
    phones_of_record: bool = False,
) -> None:
    """Fold a batch into the customers' cases; rows whose invoice the case already has become
    `duplicate` errors, new invoices of a closed case `case_closed`, rows past the cap
    `too_many_invoices`. `phones_of_record`: the rows' phones are the customers' current numbers (the
    ERP's), which outreach moves to. A campaign completed while the import ran takes no more batches
    (`Conflict`): what it had before, its closing job closes."""
    if not batch:
        return
    check_importable(campaign_id)
    drafts = fold_rows(batch, phones_of_record=phones_of_record)
    for folded in targets.fold_in(campaign_id, drafts, import_id):
        merge = folded.merge
        tally.imported += len(merge.added)
        if folded.created:
            tally.created.add(folded.target.id)
        elif (merge.added or merge.new_phones) and folded.target.import_id != import_id:  # not one it opened
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
                field="document",
                code="case_closed",
                message="this customer's case in the campaign is closed "
                f"({folded.target.outcome.value if folded.target.outcome else 'completed'}): "
                "import the invoice into another campaign to collect it",
            )
            for row in merge.closed
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


def store_report(campaign_id: str, import_id: str, rejections: Rejections) -> str | None:
    """Store the rejected-rows CSV so far; its key, or None without an import bucket."""
    if not get_settings().import_bucket:
        logger.warning("no IMPORT_BUCKET configured: rejected-rows report not stored", import_id=import_id)
        return None
    key = report_key(campaign_id, import_id)
    storage.put_file(key, rejections.report, REPORT_CONTENT_TYPE)
    return key


def log_finished(event: str, job: ImportJob, started: datetime) -> None:
    """The closing log line of a finished import or ERP sync: its counts and how long it took."""
    logger.info(
        event,
        import_id=job.id,
        campaign_id=job.campaign_id,
        imported=job.imported,
        customers_created=job.customers_created,
        customers_updated=job.customers_updated,
        duplicates=job.duplicates,
        rejected=job.rejected,
        seconds=round((clock.now() - started).total_seconds(), 3),
    )
