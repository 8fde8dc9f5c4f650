"""The generic CRM of SPEC §3 (`shared.adapters.crm`) behind the `BillingSystem` port.

`consult` is the CRM's own. Its answer already carries each invoice's payment means
(`pix_copia_cola`, `linha_digitavel`, `link`), so `payment_means` reads them from a fresh consult.
The CRM contract has no trust unlock (`UNSUPPORTED`, never an error: the promise stands alone) and
no overdue list (`OverdueListUnsupported`: campaigns of a generic CRM import spreadsheets).
"""

from __future__ import annotations

from datetime import date
from typing import Final

from shared.adapters.billing import OverdueFilter, OverduePage, PaymentMeans, UnlockResult
from shared.adapters.crm import CrmClient, Debt
from shared.domain.errors import InvalidInput, NotFound
from shared.domain.models import UnlockStatus

NO_TRUST_UNLOCK: Final = "O sistema de cobrança do provedor não oferece desbloqueio em confiança."


class OverdueListUnsupported(InvalidInput):
    """The configured billing system cannot list overdue customers."""

    code = "overdue_list_unsupported"


class GenericBilling:
    """A `CrmClient` (the SPEC's `HttpCrmClient`, or a test's) as a `BillingSystem`."""

    def __init__(self, crm: CrmClient) -> None:
        self._crm = crm

    def consult(self, document: str) -> Debt | None:
        """The CRM's answer, unchanged."""
        return self._crm.consult(document)

    def payment_means(self, document: str, invoice_number: str) -> PaymentMeans:
        """The invoice's Pix, boleto line and link as the CRM lists them; `NotFound` when it is not
        an open invoice of `document`, `CrmUnavailable` when the CRM does not answer."""
        debt = self._crm.consult(document)
        invoice = next((inv for inv in debt.invoices if inv.number == invoice_number), None) if debt else None
        if invoice is None:
            raise NotFound(f"invoice {invoice_number} is not an open invoice of this customer")
        return PaymentMeans(
            invoice_number=invoice_number,
            pix_copia_cola=invoice.pix_copia_cola,
            linha_digitavel=invoice.linha_digitavel,
            pdf_link=invoice.link,
        )

    def trust_unlock(self, document: str, contract_id: str | None, until: date) -> UnlockResult:
        """Always `UNSUPPORTED`: the CRM contract has no way to restore a service."""
        return UnlockResult(UnlockStatus.UNSUPPORTED, contract_id=contract_id, reason=NO_TRUST_UNLOCK)

    def overdue(self, filters: OverdueFilter, cursor: str | None) -> OverduePage:
        """Raises `OverdueListUnsupported` (a 4xx for the API): the CRM answers one document at a time."""
        raise OverdueListUnsupported(
            "the generic CRM cannot list overdue customers: set BILLING_SYSTEM to the ISP's ERP "
            "(ixc, sgp, hubsoft) or import a spreadsheet"
        )
