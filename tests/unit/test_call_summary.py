"""The summary and disposition of a recorded call, from the facts its tools stored (pure rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.domain.models import CallDisposition, PaymentMethod, Promise
from shared.engine.call_summary import CallFacts, disposition, summary

NOW = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)


def _promise(amount: str, day: date, method: PaymentMethod | None = None) -> Promise:
    return Promise(
        id="P1",
        document="52998224725",
        amount=Decimal(amount),
        due_date=day,
        due_at=datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC),
        timezone="America/Sao_Paulo",
        payment_method=method,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (CallFacts(), CallDisposition.NO_AGREEMENT),
        (CallFacts(wrong_number=True), CallDisposition.WRONG_NUMBER),
        (CallFacts(opted_out=True, wrong_number=True), CallDisposition.OPTED_OUT),
        (CallFacts(transferred=True, opted_out=True), CallDisposition.TRANSFERRED),
        (
            CallFacts(promises=(_promise("50.00", date(2025, 3, 14)),), transferred=True),
            CallDisposition.PROMISE_MADE,
        ),
    ],
)
def test_a_promise_outranks_a_handoff_an_opt_out_and_a_wrong_number(
    facts: CallFacts, expected: CallDisposition
) -> None:
    assert disposition(facts) is expected


def test_the_summary_states_each_stored_fact_in_portuguese() -> None:
    facts = CallFacts(
        promises=(_promise("1234.50", date(2025, 3, 14), PaymentMethod.BOLETO),),
        transferred=True,
        handoff_reason="quer negociar parcelas",
        seconds=3725,
    )

    assert summary(facts) == (
        "Chamada de 62 min 05 s. Promessa de pagamento: R$ 1.234,50 até 14/03/2025 via boleto. "
        "Transferida para um atendente humano (quer negociar parcelas)."
    )


def test_a_call_with_nothing_stored_and_no_duration_says_only_no_agreement() -> None:
    assert summary(CallFacts()) == "Sem acordo nesta chamada."
    assert summary(CallFacts(wrong_number=True, seconds=7)) == (
        "Chamada de 7 s. Número errado: quem atendeu não é o titular."
    )
