"""Importing a campaign's targets from the ISP's ERP (`POST /api/voice/campaigns/{id}/targets/sync`).

The overdue customers the billing system lists (`BillingSystem.overdue`, page by page) become the
rows a spreadsheet export would have — one per invoice — and go through the spreadsheet import's
own validation (`shared.imports.rows.ImportValidator`), fold into the customers' cases, per-row error
report and `ImportJob` (`shared.imports.pipeline`), recorded with source `erp`. An invoice's contract
(the ERP's installation point), where its overdue list names one, is its `installationPoint`. The
ERP is the record of the customer: the phones it lists are the customer's current numbers, so a case's
outreach moves to them, and a number the ERP replaced leaves the case (whoever holds it now is neither
contacted nor, giving the customer's CPF, told about the debt); a number a supervisor added stays.

Paged and resumable: after each page the job stores the ERP's cursor with its counts, so a run that
stops — the API handing off, a crash, an ERP that stopped answering — continues at the next page:
in the ingest worker, woken by `CONTINUE_OBJECT` landing in the import bucket (the S3 path of large
uploads; a failed invocation is retried from the stored cursor), or by `POST .../sync` naming the
job. Idempotent: a case is found by its customer and an invoice by its number, so a re-run adds
nothing and reports the invoices it finds again as duplicates.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Final

from shared.adapters import clients, storage
from shared.adapters.billing import OverdueFilter, OverduePage
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import imports
from shared.domain.cases import CaseRow
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.models import ImportJob, ImportRowError, ImportStatus
from shared.imports.pipeline import (
    Rejections,
    Tally,
    case_row,
    check_importable,
    fold_batch,
    log_finished,
    progress,
    store_report,
    upload_key,
)
from shared.imports.rows import ColumnMap, ImportValidator, TargetRow
from shared.imports.spreadsheets import Cell

SOURCE: Final = "erp"
# The object whose landing in the import bucket makes the ingest worker continue a sync (a name no
# spreadsheet upload can take: those end in .csv or .xlsx).
CONTINUE_OBJECT: Final = "sincronizacao-erp.json"
# The API reads the first page itself (a small sync ends there); the rest is the ingest worker's.
PAGES_INLINE: Final = 1
# A worker run hands on to the next after this many pages, well inside Lambda's 15 minutes. Lambda's
# recursive loop detection stops such a chain after about 16 runs; the job keeps its cursor, and
# `POST .../sync` with its `importId` starts a new chain.
PAGES_PER_RUN: Final = 40
# How an ERP invoice is laid out as a spreadsheet row: its contract (the installation point it bills),
# then the customer's phones in preference order.
_COLUMNS: Final = ColumnMap.from_header(
    0,
    (
        "nome",
        "cpf_cnpj",
        "valor",
        "fatura",
        "vencimento",
        "ponto_instalacao",
        "celular",
        "whatsapp",
        "telefone",
    ),
)
_PHONE_COLUMNS: Final = 3


def sync_targets(campaign_id: str, filters: OverdueFilter, *, import_id: str | None = None) -> ImportJob:
    """Pull `campaign_id`'s targets from the ERP (a new job), or continue the unfinished sync
    `import_id` with its own filters. The API runs the first page; a longer sync goes on in the
    ingest worker and its job answers `processing`.

    Raises `OverdueListUnsupported` when the billing system has no overdue list (the generic CRM),
    before any job exists; `CrmUnavailable` when the ERP does not answer (the job, if any, keeps its
    cursor); `NotFound` for an `import_id` that is not an ERP sync of this campaign.
    """
    check_importable(campaign_id)
    if import_id is not None:
        job = imports.get(import_id)
        if job.campaign_id != campaign_id or job.source != SOURCE:
            raise NotFound(f"import {import_id} is not an ERP sync of campaign {campaign_id}")
        return _run(job, PAGES_INLINE)
    first = clients.crm().overdue(filters, None)
    job = imports.create(
        ImportJob(
            id=new_id(),
            campaign_id=campaign_id,
            source=SOURCE,
            filename=get_settings().billing_system,
            sync_filter=json.dumps(asdict(filters)),
            created_at=clock.now(),
        )
    )
    return _run(job, PAGES_INLINE, first=first)


def resume(import_id: str) -> ImportJob:
    """Continue an unfinished sync from its stored cursor (the ingest worker); a finished one is
    returned as is, and one whose campaign was completed or deleted meanwhile ends as failed."""
    job = imports.get(import_id)
    if job.status is ImportStatus.PROCESSING:
        try:
            check_importable(job.campaign_id)
        except (NotFound, Conflict) as exc:
            logger.info("erp sync stopped", import_id=job.id, error_code=exc.code)
            return imports.update(
                job.id, status=ImportStatus.FAILED, failure=exc.message, finished_at=clock.now()
            )
    return _run(job, PAGES_PER_RUN)


def _run(job: ImportJob, pages: int, first: OverduePage | None = None) -> ImportJob:
    """Read up to `pages` pages from the job's cursor, checkpointing after each; hand the rest on."""
    if job.status is not ImportStatus.PROCESSING:
        return job
    billing = clients.crm()
    filters = OverdueFilter(**json.loads(job.sync_filter or "{}"))
    started = clock.now()
    validate = ImportValidator(started.astimezone(get_settings().default_zone).date(), _COLUMNS).validate
    tally = Tally(job)
    with Rejections(job) as rejections:
        page = first if first is not None else billing.overdue(filters, job.cursor)
        read = 1
        while True:
            job = _fold_page(job, page, filters, validate, tally, rejections)
            if page.cursor is None:
                break
            if read >= pages:
                _hand_off(job)
                return job
            page, read = billing.overdue(filters, page.cursor), read + 1
    job = imports.update(job.id, status=ImportStatus.COMPLETED, finished_at=clock.now())
    log_finished("erp sync finished", job, started)
    return job


def _fold_page(
    job: ImportJob,
    page: OverduePage,
    filters: OverdueFilter,
    validate: Callable[[int, Sequence[Cell]], TargetRow | ImportRowError],
    tally: Tally,
    rejections: Rejections,
) -> ImportJob:
    """Validate and fold one page's invoices, then checkpoint: counts, report and the next cursor."""
    rows_so_far = tally.imported + rejections.total  # a row's line runs on across pages and runs
    batch: list[CaseRow] = []
    errors: list[ImportRowError] = []
    for line, cells in enumerate(_rows(page, filters), start=rows_so_far + 1):
        item = validate(line, cells)
        if isinstance(item, ImportRowError):
            errors.append(item)
        else:
            batch.append(case_row(item))
    # adds the duplicates to `errors`; the ERP's phones are the customers' current numbers
    fold_batch(job.campaign_id, job.id, batch, errors, tally, phones_of_record=True)
    rejections.add(errors)
    report_key = store_report(job.campaign_id, job.id, rejections) if errors else job.report_key
    return imports.update(job.id, cursor=page.cursor, report_key=report_key, **progress(tally, rejections))


def _rows(page: OverduePage, filters: OverdueFilter) -> Iterator[tuple[str, ...]]:
    """Each invoice of the page within the filter's days overdue, as a row of `_COLUMNS` (the ERP's
    contract of the invoice is its installation point)."""
    for debt in page.debts:
        phones = (*page.phones.get(debt.document, ())[:_PHONE_COLUMNS], *[""] * _PHONE_COLUMNS)
        for invoice in debt.invoices:
            if invoice.days_overdue < filters.min_days_overdue or (
                filters.max_days_overdue is not None and invoice.days_overdue > filters.max_days_overdue
            ):
                continue
            yield (
                debt.name,
                debt.document,
                f"{invoice.amount:.2f}",
                invoice.number,
                invoice.due_date.isoformat(),
                invoice.contract_id or "",
                *phones[:_PHONE_COLUMNS],
            )


def _hand_off(job: ImportJob) -> None:
    """Wake the ingest worker to continue `job` from its cursor (a new object each time: every write
    is an S3 event)."""
    body = json.dumps({"importId": job.id, "cursor": job.cursor, "rows": job.total_rows}).encode()
    storage.put_file(
        upload_key(job.campaign_id, job.id, CONTINUE_OBJECT), io.BytesIO(body), "application/json"
    )
    logger.info("erp sync handed to the ingest worker", import_id=job.id, rows=job.total_rows)
