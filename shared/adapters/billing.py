"""The billing-system port: everything the engine asks the ISP's billing side, whatever system it is.

The generic CRM of SPEC §3 (`shared.adapters.crm.HttpCrmClient`) answers `consult` only; an ISP
management system ("ERP de provedor": IXC Soft, SGP, Hubsoft, one module each under
`shared.adapters.erp`) answers all of it. Every adapter returns the domain's own `Debt`/`Invoice`
(`Decimal` money, dates); an answer it cannot trust (timeout, 5xx, HTML where JSON was expected, an
auth failure, an error envelope) raises `CrmUnavailable`: unknown, so the caller fails closed — no
contact, retried later. Secrets an ERP returns (plaintext passwords in customer records) are dropped
inside the adapter and never leave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from shared.adapters.crm import CrmClient, Debt
from shared.domain.models import UnlockStatus


@dataclass(frozen=True, slots=True)
class PaymentMeans:
    """How an invoice can be paid, as the billing system issues it (so a payment settles it there)."""

    invoice_number: str
    pix_copia_cola: str | None = None
    linha_digitavel: str | None = None  # the boleto's typeable line
    pdf_link: str | None = None


@dataclass(frozen=True, slots=True)
class UnlockResult:
    """The ERP's answer to a trust unlock ("desbloqueio em confiança") for one contract."""

    status: UnlockStatus  # an adapter answers UNLOCKED, REFUSED or UNSUPPORTED (it raises when unknown)
    contract_id: str | None = None
    until: date | None = None
    code: str | None = None  # the ERP's own refusal code, e.g. IXC "113"
    reason: str | None = None  # the ERP's message, or ours, in Portuguese for the customer


@dataclass(frozen=True, slots=True)
class OverdueFilter:
    """Which overdue customers an ERP sync pulls."""

    min_days_overdue: int = 1
    max_days_overdue: int | None = None
    min_amount: str | None = None  # a decimal string, compared as Decimal by the adapter
    contract_status: str | None = None


@dataclass(frozen=True, slots=True)
class OverduePage:
    """One page of overdue customers: each a `Debt` with its phones; `cursor` for the next page."""

    debts: tuple[Debt, ...]
    phones: dict[str, tuple[str, ...]]  # document -> the customer's phones as the ERP has them
    cursor: str | None


@runtime_checkable
class BillingSystem(CrmClient, Protocol):
    """An ISP's billing system: `consult` (the CRM contract) plus payment means, trust unlock and the
    overdue list for syncing a campaign's targets."""

    def payment_means(self, document: str, invoice_number: str) -> PaymentMeans:
        """The ERP's own Pix / boleto / PDF for an open invoice of `document`; `CrmUnavailable` when
        unknown."""
        ...

    def trust_unlock(self, document: str, contract_id: str | None, until: date) -> UnlockResult:
        """Restore the suspended contract(s) of `document` until `until`, where the ERP allows it."""
        ...

    def overdue(self, filters: OverdueFilter, cursor: str | None) -> OverduePage:
        """One page of the customers with overdue invoices matching `filters`."""
        ...
