"""Exports for the spreadsheet every collection team ends its day in: a campaign's cases and the
promises, as rows of text ready for a CSV writer (`shared.imports.spreadsheets.iter_csv_bytes` adds
the BOM, the `;` and the formula escaping).

Rows are produced page by page (`EXPORT_PAGE` items per Query): a 100k-case campaign is never held
in memory. Amounts use the decimal comma without thousands separators (`1234,56`), which Excel in
pt-BR reads as a number; dates are the customer's (`dd/mm/aaaa hh:mm` in the zone of their phone).
Outcomes, states and statuses are the team's words (`shared.domain.labels`), not the API's codes. The
document is masked unless the caller may see it whole (`unmasked`, admins).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from typing import Final, TypeVar
from zoneinfo import ZoneInfo

from shared.data import campaigns as campaigns_data
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain import labels
from shared.domain.masking import mask_document
from shared.domain.models import Outcome, Promise, PromiseStatus, Target
from shared.domain.money import CENTS
from shared.domain.pages import Page
from shared.domain.phones import timezone_for_phone
from shared.engine import reporting

EXPORT_PAGE: Final = 500
# Concurrent promise lookups per page (one by-document Query per case that may hold a promise).
PROMISE_READERS: Final = 8
# Cases whose customer may have promised: the others are never looked up. Paid or without an outcome,
# only once contacted (the one paid before any contact never promised; a contacted case without an
# outcome is one whose partial promise was kept, going on for the rest).
_PROMISED: Final = (Outcome.PROMISE_MADE, Outcome.PROMISE_BROKEN)
_MAY_HAVE_PROMISED_ONCE_CONTACTED: Final = (Outcome.PAID, None)

Row = list[str | None]
T = TypeVar("T")

CASE_HEADER: Final[Row] = [
    "CPF/CNPJ", "Nome", "Resultado", "Estado", "Valor da dívida", "Faturas", "Em aberto",
    "Em aberto (consultado em)", "Promessa (valor)", "Promessa (data)", "Promessa (situação)", "Último contato",
]  # fmt: skip
PROMISE_HEADER: Final[Row] = [
    "CPF/CNPJ", "Valor", "Data prometida", "Situação", "Forma de pagamento", "Campanha",
    "Registrada em", "Cumprida em", "Quebrada em", "Observações",
]  # fmt: skip


def decimal_comma(amount: Decimal) -> str:
    """`1234.5` → `1234,50`: what Excel in pt-BR reads as a number."""
    return f"{amount.quantize(CENTS):f}".replace(".", ",")


def campaign_cases(campaign_id: str, *, unmasked: bool) -> Iterator[Row]:
    """The header and one row per case of the campaign; `NotFound` (before any row) for an unknown
    campaign."""
    campaigns_data.get(campaign_id)

    def fetch(cursor: str | None) -> Page[Target]:
        return targets_data.list_for_campaign(campaign_id, limit=EXPORT_PAGE, cursor=cursor)

    def rows() -> Iterator[Row]:
        yield CASE_HEADER
        with ThreadPoolExecutor(max_workers=PROMISE_READERS) as pool:
            for page in _pages(fetch):
                promised = pool.map(_case_promise, page)
                for case, promise in zip(page, promised, strict=True):
                    yield _case_row(case, promise, unmasked)

    return rows()


def promises(*, status: PromiseStatus | None, unmasked: bool) -> Iterator[Row]:
    """The header and one row per promise (newest first; of one status, soonest due first)."""

    def fetch(cursor: str | None) -> Page[Promise]:
        return promises_data.list_page(status=status, limit=EXPORT_PAGE, cursor=cursor)

    yield PROMISE_HEADER
    for page in _pages(fetch):
        for promise in page:
            yield _promise_row(promise, unmasked)


DAILY_HEADER: Final[Row] = ["Dia", "Contatos", "Respostas", "Promessas", "Cumpridas", "Recuperado"]


def daily(campaign_id: str, start: date | None, end: date | None) -> Iterator[Row]:
    """The header and one row per day of the campaign's series (`reporting.daily`, validated before any
    row)."""
    series = reporting.daily(campaign_id, start, end)

    def rows() -> Iterator[Row]:
        yield DAILY_HEADER
        for day in series:
            counts = (day.contacts, day.responses, day.promises, day.kept)
            yield [f"{day.day:%d/%m/%Y}", *map(str, counts), decimal_comma(day.recovered)]

    return rows()


def _pages(fetch: Callable[[str | None], Page[T]]) -> Iterator[Sequence[T]]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _case_promise(case: Target) -> Promise | None:
    """The latest promise about the case, looked up only when its outcome says there may be one: made
    in its own conversation, or in another campaign's over one of its invoices (a promise is the
    customer's and defers every case of the document)."""
    contacted = case.contact_count > 0
    if case.outcome not in _PROMISED and not (
        contacted and case.outcome in _MAY_HAVE_PROMISED_ONCE_CONTACTED
    ):
        return None
    invoices = {invoice.invoice_number for invoice in case.invoices}
    latest: Promise | None = None
    for page in _pages(lambda cursor: promises_data.list_page(document=case.document, cursor=cursor)):
        for promise in page:
            about = promise.target_id == case.id or not invoices.isdisjoint(promise.invoice_numbers or ())
            if about and (latest is None or promise.created_at > latest.created_at):
                latest = promise
    return latest


def _case_row(case: Target, promise: Promise | None, unmasked: bool) -> Row:
    tz = timezone_for_phone(case.phone)
    return [
        case.document if unmasked else mask_document(case.document),
        case.client_name,
        labels.OUTCOME[case.outcome] if case.outcome else None,
        labels.cell(labels.STATE[case.state]),
        decimal_comma(case.debt_amount),
        str(len(case.invoices)),
        None if case.open_amount is None else decimal_comma(case.open_amount),
        _local(case.open_amount_at, tz),
        decimal_comma(promise.amount) if promise else None,
        f"{promise.due_date:%d/%m/%Y}" if promise else None,
        labels.cell(labels.PROMISE_STATUS[promise.status]) if promise else None,
        _local(case.last_attempt_at, tz),
    ]


def _promise_row(promise: Promise, unmasked: bool) -> Row:
    tz = ZoneInfo(promise.timezone)
    return [
        promise.document if unmasked else mask_document(promise.document),
        decimal_comma(promise.amount),
        f"{promise.due_date:%d/%m/%Y}",
        labels.cell(labels.PROMISE_STATUS[promise.status]),
        labels.PAYMENT_METHOD[promise.payment_method] if promise.payment_method else None,
        promise.campaign_id,
        _local(promise.created_at, tz),
        _local(promise.fulfilled_at, tz),
        _local(promise.broken_at, tz),
        promise.notes,
    ]


def _local(at: datetime | None, tz: ZoneInfo) -> str | None:
    return None if at is None else f"{at.astimezone(tz):%d/%m/%Y %H:%M}"
