"""The generic CRM as a `BillingSystem` (`shared.adapters.erp.generic`), and what the assistant says
about a trust unlock (`shared.assistant.texts`): "liberada" only after the ERP confirmed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.adapters.billing import BillingSystem, OverdueFilter
from shared.adapters.crm import CrmUnavailable, Debt, Invoice
from shared.adapters.erp.generic import GenericBilling, OverdueListUnsupported
from shared.assistant import texts
from shared.domain.errors import NotFound
from shared.domain.models import UnlockStatus

DOCUMENT = "52998224725"
WITH_CODES = Invoice(
    "FAT-1",
    Decimal("89.90"),
    date(2025, 2, 10),
    28,
    pix_copia_cola="000201PIX",
    linha_digitavel="34191.0000",
    link="https://crm.example.com/boleto/FAT-1.pdf",
)


class StubCrm:
    def __init__(self, debt: Debt | None = None, *, down: bool = False) -> None:
        self.debt, self.down, self.queries = debt, down, 0

    def consult(self, document: str) -> Debt | None:
        self.queries += 1
        if self.down:
            raise CrmUnavailable("CRM answered HTTP 503")
        return self.debt


def owes(*invoices: Invoice) -> Debt:
    return Debt("Maria", DOCUMENT, sum((inv.amount for inv in invoices), Decimal("0.00")), invoices)


def test_the_generic_billing_system_answers_the_port() -> None:
    billing = GenericBilling(StubCrm(owes(WITH_CODES)))
    assert isinstance(billing, BillingSystem)
    assert billing.consult(DOCUMENT) == owes(WITH_CODES)


def test_payment_means_are_the_crm_answers_invoice_fields() -> None:
    means = GenericBilling(StubCrm(owes(WITH_CODES))).payment_means(DOCUMENT, "FAT-1")

    assert means.pix_copia_cola == "000201PIX" and means.linha_digitavel == "34191.0000"
    assert means.pdf_link == "https://crm.example.com/boleto/FAT-1.pdf" and means.invoice_number == "FAT-1"


def test_payment_means_of_an_invoice_not_open_or_a_crm_down() -> None:
    with pytest.raises(NotFound):
        GenericBilling(StubCrm(owes(WITH_CODES))).payment_means(DOCUMENT, "FAT-9")
    with pytest.raises(NotFound):
        GenericBilling(StubCrm(None)).payment_means(DOCUMENT, "FAT-1")
    with pytest.raises(CrmUnavailable):
        GenericBilling(StubCrm(down=True)).payment_means(DOCUMENT, "FAT-1")


def test_the_crm_contract_has_no_trust_unlock_and_no_overdue_list() -> None:
    crm = StubCrm(owes(WITH_CODES))
    billing = GenericBilling(crm)

    result = billing.trust_unlock(DOCUMENT, None, until=date(2025, 3, 20))

    assert result.status is UnlockStatus.UNSUPPORTED and result.until is None and result.reason
    assert crm.queries == 0  # nothing to ask
    with pytest.raises(OverdueListUnsupported, match="BILLING_SYSTEM"):
        billing.overdue(OverdueFilter(), None)


def test_the_model_hears_liberada_only_for_a_confirmed_unlock() -> None:
    confirmed = texts.unlock_note(UnlockStatus.UNLOCKED, date(2025, 3, 12), None)
    refused = texts.unlock_note(UnlockStatus.REFUSED, None, "Já foi usado neste ciclo.")
    down = texts.unlock_note(UnlockStatus.UNAVAILABLE, None, None)

    assert "CONFIRMOU" in confirmed and "pronto, sua internet foi liberada até dia 12/03" in confirmed
    assert "RECUSOU" in refused and "Já foi usado neste ciclo." in refused
    assert (
        "NÃO diga que a internet foi liberada" in refused and "NÃO diga que a internet foi liberada" in down
    )
    unsupported = texts.unlock_note(UnlockStatus.UNSUPPORTED, None, None)
    assert "não prometa liberar a internet" in unsupported


def test_the_customer_confirmation_says_what_the_erp_did() -> None:
    day = date(2025, 3, 20)
    unlocked = texts.promise_registered(
        Decimal("179.80"), day, (UnlockStatus.UNLOCKED, date(2025, 3, 13), None)
    )
    no_date = texts.promise_registered(Decimal("179.80"), day, (UnlockStatus.UNLOCKED, None, None))
    unsupported = texts.promise_registered(Decimal("179.80"), day, (UnlockStatus.UNSUPPORTED, None, "x"))

    assert "Pronto, sua internet foi liberada até dia 13/03. " in unlocked
    assert "Pronto, sua internet foi liberada. " in no_date
    assert unsupported == texts.promise_registered(Decimal("179.80"), day)  # nothing to tell
    assert "liberada" not in unsupported
