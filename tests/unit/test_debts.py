"""One reading of the CRM's answer (`read_debt`), what it settles of a case, and when a (partial)
promise is kept by it: tables of CRM answers → readings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.adapters.crm import Debt
from shared.adapters.crm import Invoice as CrmInvoice
from shared.domain.debts import DebtKind, DebtReading, OpenAmount, case_fields, read_debt
from shared.domain.models import Invoice, Outcome, Promise, Target
from shared.domain.promise_rules import deferred_until, is_kept

TODAY = date(2025, 3, 10)
RECENT = date(2025, 2, 10)
OLD = date(2019, 1, 10)  # more than five years before TODAY: time-barred


def crm(*invoices: tuple[str, str, date]) -> Debt:
    listed = tuple(CrmInvoice(number, Decimal(amount), due, 30) for number, amount, due in invoices)
    total = sum((inv.amount for inv in listed), Decimal("0.00"))
    return Debt("Maria Silva", "52998224725", total, listed)


@pytest.mark.parametrize(
    ("case", "debt", "kind", "numbers", "total", "outcome"),
    [
        ("CRM 404", None, DebtKind.UNKNOWN_CUSTOMER, set(), "0.00", Outcome.UNKNOWN_CUSTOMER),
        ("nothing listed", crm(), DebtKind.PAID, set(), "0.00", Outcome.PAID),
        ("only time-barred", crm(("F0", "80.00", OLD)), DebtKind.ONLY_TIME_BARRED, set(), "0.00", Outcome.TIME_BARRED),
        ("one open", crm(("F1", "99.90", RECENT)), DebtKind.OWES, {"F1"}, "99.90", None),
        ("open and time-barred", crm(("F0", "80.00", OLD), ("F1", "99.90", RECENT), ("F2", "50.10", RECENT)), DebtKind.OWES, {"F1", "F2"}, "150.00", None),
        ("due exactly five years ago", crm(("F5", "10.00", date(2020, 3, 10))), DebtKind.OWES, {"F5"}, "10.00", None),
    ],
)  # fmt: skip
def test_read_debt_sorts_every_crm_answer_into_one_kind(
    case: str, debt: Debt | None, kind: DebtKind, numbers: set[str], total: str, outcome: Outcome | None
) -> None:
    reading = read_debt(debt, TODAY)

    assert reading.kind is kind, case
    assert reading.open_numbers() == numbers
    assert reading.total == Decimal(total)
    assert reading.outcome is outcome
    assert reading.owes is (kind is DebtKind.OWES)


def test_a_reading_keeps_the_crm_invoices_with_their_payment_codes() -> None:
    debt = Debt(
        "Ana", "1", Decimal("10"), (CrmInvoice("F1", Decimal("10"), RECENT, 3, pix_copia_cola="000201"),)
    )
    [invoice] = read_debt(debt, TODAY).invoices
    assert invoice.pix_copia_cola == "000201"
    assert read_debt(debt, TODAY).name == "Ana"


def case_invoices(*numbers: str | None) -> list[Invoice]:
    return [Invoice(invoice_number=number, amount=Decimal("10.00")) for number in numbers]


@pytest.mark.parametrize(
    ("case", "reading", "invoices", "settled"),
    [
        ("CRM shows nothing", read_debt(crm(), TODAY), case_invoices("F1"), True),
        ("only time-barred left", read_debt(crm(("F0", "1.00", OLD)), TODAY), case_invoices("F1"), True),
        ("the case's invoice still open", read_debt(crm(("F1", "1.00", RECENT)), TODAY), case_invoices("F1", "F2"), False),
        ("only another case's invoice open", read_debt(crm(("F9", "1.00", RECENT)), TODAY), case_invoices("F1", "F2"), True),
        ("an unnumbered invoice cannot be matched", read_debt(crm(("F9", "1.00", RECENT)), TODAY), case_invoices("F1", None), False),
        ("unknown customer settles nothing", read_debt(None, TODAY), case_invoices("F1"), False),
    ],
)  # fmt: skip
def test_a_case_is_settled_when_none_of_its_invoices_is_collectible(
    case: str, reading: DebtReading, invoices: list[Invoice], settled: bool
) -> None:
    assert reading.settles(invoices) is settled, case


AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TWO_OPEN = read_debt(crm(("F1", "30.00", RECENT), ("F2", "20.00", RECENT), ("F0", "5.00", OLD)), TODAY)


@pytest.mark.parametrize(
    ("case", "reading", "invoices", "open_amount", "paid"),
    [
        ("one of the case's two still open", TWO_OPEN, case_invoices("F1", "F3"), "30.00", "10.00"),
        ("another case's invoice is not this case's", TWO_OPEN, case_invoices("F3"), "0.00", "10.00"),
        ("an unnumbered invoice: the customer's whole total", TWO_OPEN, case_invoices("F3", None), "50.00", "0.00"),
        ("an unnumbered invoice: what its debt exceeds all that is open", read_debt(crm(("F1", "4.00", RECENT)), TODAY), case_invoices("F1", None), "4.00", "16.00"),
        ("nothing open", read_debt(crm(), TODAY), case_invoices("F1"), "0.00", "10.00"),
        ("only time-barred: open, not paid", read_debt(crm(("F1", "10.00", OLD)), TODAY), case_invoices("F1"), "0.00", "0.00"),
        ("listed for less: the difference paid", read_debt(crm(("F1", "4.00", RECENT)), TODAY), case_invoices("F1", "F2"), "4.00", "16.00"),
        ("unknown customer: nothing said", read_debt(None, TODAY), case_invoices("F1"), None, None),
    ],
)  # fmt: skip
def test_what_a_reading_shows_still_open_and_paid_of_a_cases_invoices(
    case: str, reading: DebtReading, invoices: list[Invoice], open_amount: str | None, paid: str | None
) -> None:
    checked = reading.checked(AT, invoices)

    expected = None if open_amount is None or paid is None else (Decimal(open_amount), AT, Decimal(paid))
    assert checked == expected, case


@pytest.mark.parametrize(
    ("case", "counted", "seen_paid", "paid_amount"),
    [
        ("a first read showing part paid", None, "4.00", "4.00"),
        ("more paid since", "4.00", "10.00", "10.00"),
        ("the same read again", "10.00", "10.00", "10.00"),
        ("an invoice reopened: what was seen paid stays", "10.00", "1.00", "10.00"),
    ],
)  # fmt: skip
def test_a_reads_changes_keep_the_most_of_the_debt_ever_seen_paid(
    case: str, counted: str | None, seen_paid: str, paid_amount: str
) -> None:
    target = Target(
        id="T1",
        campaign_id="C1",
        client_name="Ana",
        phone="5511970000001",
        document="52998224725",
        invoices=case_invoices("F1", "F2"),
        paid_amount=None if counted is None else Decimal(counted),
        next_attempt_at=AT,
        created_at=AT,
        updated_at=AT,
    )
    checked = OpenAmount(Decimal("20.00") - Decimal(seen_paid), AT, Decimal(seen_paid))

    fields = case_fields(target, checked)

    assert fields == {
        "open_amount": checked.amount,
        "open_amount_at": AT,
        "paid_amount": Decimal(paid_amount),
    }, case
    assert case_fields(target, None) == {}


def promise(amount: str, open_amount: str | None, numbers: list[str] | None) -> Promise:
    now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    return Promise(
        id="P1",
        document="52998224725",
        amount=Decimal(amount),
        open_amount=Decimal(open_amount) if open_amount is not None else None,
        invoice_numbers=numbers,
        due_date=date(2025, 3, 14),
        due_at=datetime(2025, 3, 15, 2, 59, 59, 999000, tzinfo=UTC),
        timezone="America/Sao_Paulo",
        created_at=now,
        updated_at=now,
    )


# A customer owed F1 (100.00) and F2 (80.00) and promised 100.00 against both (180.00 open).
PARTIAL = promise("100.00", "180.00", ["F1", "F2"])


@pytest.mark.parametrize(
    ("case", "promised", "debt", "kept"),
    [
        ("paid F1: the promised amount", PARTIAL, crm(("F2", "80.00", RECENT)), True),
        ("paid F1, and a new invoice came due since", PARTIAL, crm(("F2", "80.00", RECENT), ("F3", "99.90", TODAY)), True),
        ("paid F2 only: 80 of 100", PARTIAL, crm(("F1", "100.00", RECENT)), False),
        ("paid nothing", PARTIAL, crm(("F1", "100.00", RECENT), ("F2", "80.00", RECENT)), False),
        ("none of its invoices open, another is", promise("180.00", "180.00", ["F1", "F2"]), crm(("F3", "5.00", RECENT)), True),
        ("everything paid", PARTIAL, crm(), True),
        ("CRM 404 is no payment", PARTIAL, None, False),
        ("no invoices named: nothing collectible open", promise("100.00", None, None), crm(("F0", "1.00", OLD)), True),
        ("no invoices named: still owes", promise("100.00", None, None), crm(("F9", "1.00", RECENT)), False),
    ],
)  # fmt: skip
def test_a_promise_is_kept_when_the_promised_amount_of_its_invoices_is_paid(
    case: str, promised: Promise, debt: Debt | None, kept: bool
) -> None:
    assert is_kept(promised, read_debt(debt, TODAY)) is kept, case


def test_cases_deferred_by_a_promise_wait_until_the_day_after_it() -> None:
    due_at = datetime(2025, 3, 15, 2, 59, 59, 999000, tzinfo=UTC)  # 14/03 23:59:59.999 in São Paulo
    assert deferred_until(due_at) == datetime(2025, 3, 15, 3, 0, tzinfo=UTC)  # 15/03 00:00
