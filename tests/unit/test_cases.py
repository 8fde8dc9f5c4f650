"""Folding import rows into cases: one per document, duplicates and the cap, the outreach phone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.domain import cases
from shared.domain.cases import MAX_INVOICES_PER_CASE, CaseRow, fold_rows, merge, open_case, whatsapp_phone
from shared.domain.ids import target_id
from shared.domain.models import Invoice

MARIA, JOAO = "52998224725", "11144477735"
MOBILE, OTHER_MOBILE, LANDLINE = "5511999998888", "5521988887777", "551133334444"


def row(
    line: int, number: str | None, *, document: str = MARIA, phone: str = MOBILE, amount: str = "10.00"
) -> CaseRow:
    invoice = Invoice(invoice_number=number, amount=Decimal(amount), due_date=date(2025, 2, 10))
    return CaseRow(line, document, f"Cliente {document[:3]}", phone, invoice)


def test_rows_of_one_document_fold_into_one_draft_in_order():
    rows = [row(2, "F-1"), row(3, "J-1", document=JOAO), row(4, "F-2"), row(5, "F-3")]

    drafts = fold_rows(rows)

    assert [draft.document for draft in drafts] == [MARIA, JOAO]
    assert [r.line for r in drafts[0].rows] == [2, 4, 5]
    assert drafts[0].client_name == "Cliente 529"


def test_a_new_case_takes_every_invoice_and_sums_the_debt():
    [draft] = fold_rows([row(2, "F-1", amount="89.90"), row(3, "F-2", amount="10.10")])

    merged = merge((), (), draft.rows)
    case = open_case("C1", draft, merged, "I1", datetime(2025, 3, 3, 12, tzinfo=UTC))

    assert [r.line for r in merged.added] == [2, 3] and not merged.duplicates
    assert case.id == target_id("C1", MARIA)
    assert [invoice.invoice_number for invoice in case.invoices] == ["F-1", "F-2"]
    assert case.debt_amount == Decimal("100.00")
    assert case.phones == [MOBILE] and case.phone == MOBILE


def test_an_invoice_the_case_has_is_a_duplicate_and_a_new_one_is_added():
    stored = [Invoice(invoice_number="F-1", amount=Decimal("89.90"))]

    merged = merge(stored, [MOBILE], [row(2, "F-1"), row(3, "F-4", phone=OTHER_MOBILE)])

    assert [r.line for r in merged.duplicates] == [2]
    assert [r.line for r in merged.added] == [3]
    assert [invoice.invoice_number for invoice in merged.invoices] == ["F-1", "F-4"]
    assert merged.phones == (MOBILE, OTHER_MOBILE) and merged.new_phones == (OTHER_MOBILE,)


def test_a_duplicate_row_brings_its_phone_to_the_case():
    stored = [Invoice(invoice_number="F-1", amount=Decimal("89.90"))]

    merged = merge(stored, [MOBILE], [row(2, "F-1", phone=OTHER_MOBILE), row(3, "F-1")])

    assert [r.line for r in merged.duplicates] == [2, 3] and not merged.added
    assert merged.phones == (MOBILE, OTHER_MOBILE) and merged.new_phones == (OTHER_MOBILE,)
    assert [invoice.invoice_number for invoice in merged.invoices] == ["F-1"]


def test_the_erps_phones_of_record_replace_the_cases_a_spreadsheets_only_add_numbers():
    stored = [Invoice(invoice_number="F-1", amount=Decimal("89.90"))]
    rows = [row(2, "F-1", phone=OTHER_MOBILE)]

    imported = merge(stored, [MOBILE, LANDLINE], rows)
    [draft] = fold_rows(rows, phones_of_record=True)
    synced = merge(
        stored,
        [MOBILE, LANDLINE],
        draft.rows,
        phones_of_record=draft.phones_of_record,
        kept_phones=[LANDLINE],
    )

    assert imported.phones == (MOBILE, LANDLINE, OTHER_MOBILE)
    assert imported.phone is None  # the case keeps its own number
    # The ERP's current number; the one it replaced is gone, a supervisor's addition stays.
    assert synced.phones == (LANDLINE, OTHER_MOBILE) and synced.phone == OTHER_MOBILE


def test_a_closed_case_refuses_new_invoices_but_not_what_it_has():
    stored = [Invoice(invoice_number="F-1", amount=Decimal("89.90"))]

    merged = merge(stored, [MOBILE], [row(2, "F-1"), row(3, "F-2", phone=OTHER_MOBILE)], closed=True)

    assert [r.line for r in merged.duplicates] == [2] and [r.line for r in merged.closed] == [3]
    assert not merged.added and [invoice.invoice_number for invoice in merged.invoices] == ["F-1"]
    assert merged.phones == (MOBILE,)  # a refused row brings nothing


def test_a_refused_row_over_the_cap_brings_nothing():
    stored = [Invoice(invoice_number=f"F-{n}", amount=Decimal("1.00")) for n in range(MAX_INVOICES_PER_CASE)]

    merged = merge(stored, [MOBILE], [row(2, "X-1", phone=OTHER_MOBILE)])

    assert [r.line for r in merged.over_cap] == [2]
    assert merged.phones == (MOBILE,) and merged.new_phones == ()


def test_rows_without_an_invoice_number_share_one_key():
    merged = merge((), (), [row(2, None), row(3, None)])

    assert [r.line for r in merged.added] == [2] and [r.line for r in merged.duplicates] == [3]


def test_a_full_case_refuses_further_invoices():
    stored = [
        Invoice(invoice_number=f"F-{n}", amount=Decimal("1.00")) for n in range(MAX_INVOICES_PER_CASE - 1)
    ]

    merged = merge(stored, [MOBILE], [row(2, "X-1"), row(3, "X-2"), row(4, "F-0")])

    assert [r.line for r in merged.added] == [2]
    assert [r.line for r in merged.over_cap] == [3]
    assert [r.line for r in merged.duplicates] == [4]  # a duplicate is reported as such, full or not
    assert len(merged.invoices) == MAX_INVOICES_PER_CASE


def test_the_outreach_phone_is_the_first_valid_mobile():
    assert whatsapp_phone([LANDLINE, OTHER_MOBILE, MOBILE]) == OTHER_MOBILE
    assert whatsapp_phone([LANDLINE, "5599"]) == LANDLINE  # no mobile: the first number


def test_a_case_without_phones_or_invoices_is_refused():
    [draft] = fold_rows([row(2, "F-1")])
    empty = cases.Merge((), (), (), (), (), (), ())

    with pytest.raises(ValueError):
        whatsapp_phone([])
    with pytest.raises(ValueError):
        open_case("C1", draft, empty, None, datetime(2025, 3, 3, tzinfo=UTC))
