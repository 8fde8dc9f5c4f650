"""One reading of the CRM's answer (SPEC §3), used by every caller: the pre-send guards, payment
claims, the promise monitor and the assistant's tools.

`read_debt(debt, today)` sorts the answer for one document into four kinds:
- `UNKNOWN_CUSTOMER`: the CRM does not know the document (404, `debt` None) — never a payment;
- `PAID`: the CRM lists no open invoice — nothing is left to collect;
- `ONLY_TIME_BARRED`: only invoices older than the 5-year bar are open — they are never collected;
- `OWES`: something collectible is open: `invoices` and `total` say what.
A CRM that cannot answer is not a reading: callers keep failing closed on `CrmUnavailable`.

What a reading says is still open of a case's invoices (`checked`: their collectible amount, what of
them the CRM no longer lists open, and when it was read) goes on the case with the write that follows
the read (`case_fields`: `open_amount`, `open_amount_at`, `paid_amount`), never with a write of its own.
A case's `paid_amount` only grows: it is what of its debt the campaign's money counts as paid
(`shared.data.targets`), each centavo once, on the day it is first seen.

The CRM's answer is typed structurally (`CrmDebt`) so this module reads the adapter's objects without
importing the adapter.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from shared.domain.errors import Conflict, NotFound
from shared.domain.models import Invoice, Outcome, Target

_ZERO = Decimal("0.00")


class OpenInvoice(Protocol):
    """An open invoice as the CRM lists it."""

    @property
    def number(self) -> str: ...

    @property
    def amount(self) -> Decimal: ...


InvoiceT = TypeVar("InvoiceT", bound=OpenInvoice, covariant=True)


class CrmDebt(Protocol[InvoiceT]):
    """The CRM's answer for one document (`shared.adapters.crm.Debt`)."""

    @property
    def name(self) -> str: ...

    @property
    def invoices(self) -> Sequence[InvoiceT]: ...

    def collectible(self, today: date) -> Sequence[InvoiceT]: ...


class DebtKind(StrEnum):
    UNKNOWN_CUSTOMER = "unknown_customer"
    PAID = "paid"
    ONLY_TIME_BARRED = "only_time_barred"
    OWES = "owes"


_OUTCOMES = {
    DebtKind.UNKNOWN_CUSTOMER: Outcome.UNKNOWN_CUSTOMER,
    DebtKind.PAID: Outcome.PAID,
    DebtKind.ONLY_TIME_BARRED: Outcome.TIME_BARRED,
}


class OpenAmount(NamedTuple):
    """What the CRM showed collectible of a case's invoices, and when it was read: the case's
    `open_amount` and `open_amount_at`, written with whatever write of the case follows the read; and
    what of the case's debt it no longer lists open at all (`paid`: an invoice past the time bar is still
    open, not paid)."""

    amount: Decimal
    at: datetime
    paid: Decimal = _ZERO


def case_fields(case: Target, checked: OpenAmount | None) -> dict[str, Any]:
    """The changes of `case` that record `checked` (none when the CRM did not say): what is open, when
    it was read, and `paid_amount`, the most of its debt ever seen paid (it never shrinks: an invoice
    reopened is not money taken back)."""
    if checked is None:
        return {}
    paid = max(case.paid_amount or _ZERO, checked.paid)
    return {"open_amount": checked.amount, "open_amount_at": checked.at, "paid_amount": paid}


class DebtReading(NamedTuple, Generic[InvoiceT]):
    """What the CRM's answer means: its kind, the collectible invoices and their total."""

    kind: DebtKind
    name: str = ""  # the customer's name as the CRM has it ("" when unknown)
    invoices: tuple[InvoiceT, ...] = ()  # collectible open invoices (OWES only)
    total: Decimal = _ZERO  # what `invoices` add up to
    barred: tuple[InvoiceT, ...] = ()  # open invoices past the time bar (never collected, not paid)

    @property
    def owes(self) -> bool:
        return self.kind is DebtKind.OWES

    @property
    def outcome(self) -> Outcome | None:
        """The terminal outcome of a case this reading ends (None: the customer owes)."""
        return _OUTCOMES.get(self.kind)

    def owing(self) -> DebtReading[InvoiceT]:
        """This reading, of a customer who owes something collectible: what a promise or a payment code
        is made against. `NotFound` (`customer_not_found`) for a customer the CRM does not know,
        `Conflict` (`nothing_open`) when nothing collectible is open."""
        if self.kind is DebtKind.UNKNOWN_CUSTOMER:
            raise NotFound("o sistema de cobrança não conhece este cliente", code="customer_not_found")
        if not self.owes:
            raise Conflict("não há nada em aberto para cobrar deste cliente", code="nothing_open")
        return self

    def checked(self, at: datetime, case_invoices: Sequence[Invoice]) -> OpenAmount | None:
        """What this reading, made at `at`, says is still open of a case's invoices: what is collectible
        of them (nothing when the CRM shows nothing collectible), and what of their imported amounts it
        lists open no more, time-barred or not (paid: an invoice gone, or listed for less). An invoice
        imported without a number cannot be matched: a case holding one shows the customer's whole
        collectible total, and counts paid only what its debt exceeds all the customer has open. None for
        a customer the CRM does not know."""
        if self.kind is DebtKind.UNKNOWN_CUSTOMER:
            return None
        numbers = [invoice.invoice_number for invoice in case_invoices]
        if any(number is None for number in numbers):
            debt = sum((invoice.amount for invoice in case_invoices), _ZERO)
            return OpenAmount(self.total, at, max(_ZERO, debt - self.total - _sum(self.barred)))
        listed: dict[str, Decimal] = {}
        for invoice in (*self.invoices, *self.barred):
            listed[invoice.number] = listed.get(invoice.number, _ZERO) + invoice.amount
        paid = sum(
            (
                max(_ZERO, invoice.amount - listed.get(str(invoice.invoice_number), _ZERO))
                for invoice in case_invoices
            ),
            _ZERO,
        )
        return OpenAmount(self.open_amount_of(frozenset(n for n in numbers if n is not None)), at, paid)

    def open_numbers(self) -> frozenset[str]:
        """The numbers of the collectible open invoices."""
        return frozenset(invoice.number for invoice in self.invoices)

    def open_amount_of(self, numbers: Collection[str]) -> Decimal:
        """What is still collectible of the invoices numbered `numbers`."""
        return sum((inv.amount for inv in self.invoices if inv.number in numbers), _ZERO)

    def settles(self, case_invoices: Sequence[Invoice]) -> bool:
        """Whether nothing collectible is left of a case's invoices: the CRM shows nothing collectible
        at all, or none of the case's invoices is open. An invoice imported without a number cannot be
        matched, so a case holding one is settled only when nothing collectible is open."""
        if self.kind in (DebtKind.PAID, DebtKind.ONLY_TIME_BARRED):
            return True
        if self.kind is not DebtKind.OWES:
            return False
        numbers = [invoice.invoice_number for invoice in case_invoices]
        if any(number is None for number in numbers):
            return False
        return self.open_numbers().isdisjoint(numbers)


def read_debt(debt: CrmDebt[InvoiceT] | None, today: date) -> DebtReading[InvoiceT]:
    """Read the CRM's answer for a document on the customer's local `today` (the time bar counts from
    it). `debt` None is the CRM's 404."""
    if debt is None:
        return DebtReading(DebtKind.UNKNOWN_CUSTOMER)
    if not debt.invoices:
        return DebtReading(DebtKind.PAID, debt.name)
    collectible = tuple(debt.collectible(today))
    barred = tuple(invoice for invoice in debt.invoices if invoice not in collectible)
    if not collectible:
        return DebtReading(DebtKind.ONLY_TIME_BARRED, debt.name, barred=barred)
    return DebtReading(DebtKind.OWES, debt.name, collectible, _sum(collectible), barred)


def _sum(invoices: Iterable[OpenInvoice]) -> Decimal:
    return sum((invoice.amount for invoice in invoices), _ZERO)
