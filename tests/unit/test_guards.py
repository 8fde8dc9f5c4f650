"""The pre-send chain as a pure decision: one table of facts → verdict, in SPEC order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from shared.adapters.crm import Debt, Invoice
from shared.domain.cadence import HOLD_RETRY
from shared.domain.contact_policy import ContactWindow
from shared.domain.models import CampaignStatus, Channel, Outcome, Promise, TargetState
from shared.engine.guards import (
    ConsultCrm,
    CrmAnswer,
    Defer,
    Facts,
    Finish,
    Go,
    SkipReason,
    Take,
    decide,
    decide_sweep,
)

OPEN = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)  # Monday 12:00 in São Paulo
CLOSED = datetime(2025, 3, 11, 0, 30, tzinfo=UTC)  # Monday 21:30 in São Paulo
NEXT_OPENING = datetime(2025, 3, 11, 11, 0, tzinfo=UTC)  # Tuesday 08:00 in São Paulo
WINDOW = ContactWindow.for_phone("08:00", "20:00", range(1, 7), "5511999998888")
OWES = Debt(
    "Ana", "11144477735", Decimal("150.00"), (Invoice("F1", Decimal("150.00"), date(2025, 2, 1), 37),)
)
NOTHING_OPEN = Debt("Ana", "11144477735", Decimal("0"), ())
TIME_BARRED = Debt(
    "Ana", "11144477735", Decimal("80.00"), (Invoice("F0", Decimal("80.00"), date(2019, 1, 1), 2260),)
)
PROMISE = Promise(
    id="P1",
    document="11144477735",
    amount=Decimal("150.00"),
    due_date=date(2025, 3, 14),
    due_at=datetime(2025, 3, 15, 2, 59, 59, 999000, tzinfo=UTC),
    timezone="America/Sao_Paulo",
    created_at=OPEN,
    updated_at=OPEN,
)


def facts(**changes: object) -> Facts:
    base = Facts(
        now=OPEN,
        campaign_status=CampaignStatus.ACTIVE,
        opted_out=False,
        window=WINDOW,
        recent_contacts=(),
        active_promise=None,
        crm=CrmAnswer(OWES),
    )
    return base._replace(**changes)


@pytest.mark.parametrize(
    ("case", "changes", "reason", "state", "outcome"),
    [
        ("campaign paused", {"campaign_status": CampaignStatus.PAUSED}, SkipReason.CAMPAIGN_INACTIVE, None, None),
        ("opted out", {"opted_out": True}, SkipReason.OPTED_OUT, TargetState.COMPLETED, Outcome.OPTED_OUT),
        ("window closed", {"now": CLOSED}, SkipReason.WINDOW, None, None),
        ("contacted today", {"recent_contacts": (OPEN - timedelta(hours=2),)}, SkipReason.FREQUENCY_CAP, None, None),
        ("CRM down", {"crm": CrmAnswer(None, unavailable="timeout")}, SkipReason.CRM_UNAVAILABLE, None, None),
        ("CRM 404", {"crm": CrmAnswer(None)}, SkipReason.UNKNOWN_CUSTOMER, TargetState.COMPLETED, Outcome.UNKNOWN_CUSTOMER),
        ("nothing open", {"crm": CrmAnswer(NOTHING_OPEN)}, SkipReason.PAID, TargetState.COMPLETED, Outcome.PAID),
        ("only time-barred", {"crm": CrmAnswer(TIME_BARRED)}, SkipReason.TIME_BARRED, TargetState.COMPLETED, Outcome.TIME_BARRED),
        ("active promise", {"active_promise": PROMISE}, SkipReason.ACTIVE_PROMISE, None, None),
        ("held by a human", {"held": True}, SkipReason.HUMAN_HOLD, None, None),
        ("budget spent", {"budget_spent": True}, SkipReason.EXHAUSTED, TargetState.COMPLETED, Outcome.EXHAUSTED),
        ("payment claimed", {"quiet_until": OPEN + timedelta(days=3)}, SkipReason.PAYMENT_CLAIMED, None, None),
    ],
)  # fmt: skip
def test_each_guard_objects_with_its_reason(
    case: str,
    changes: dict[str, object],
    reason: SkipReason,
    state: TargetState | None,
    outcome: Outcome | None,
) -> None:
    verdict = decide(facts(**changes))

    assert isinstance(verdict, Defer | Finish), case
    assert verdict.reason is reason
    if isinstance(verdict, Finish):
        assert (verdict.state, verdict.outcome) == (state, outcome)
    else:
        assert state is None


def test_a_spent_budget_still_lets_the_crm_say_paid() -> None:
    verdict = decide(facts(budget_spent=True, crm=CrmAnswer(NOTHING_OPEN)))
    assert isinstance(verdict, Finish) and verdict.outcome is Outcome.PAID


def test_every_guard_passing_goes_with_the_crm_debt() -> None:
    verdict = decide(facts())
    assert isinstance(verdict, Go) and verdict.debt is OWES


def test_the_crm_is_consulted_only_once_every_earlier_guard_passed() -> None:
    assert isinstance(decide(facts(crm=None)), ConsultCrm)
    assert decide(facts(crm=None)) == ConsultCrm() != ()
    for earlier in ({"opted_out": True}, {"now": CLOSED}, {"recent_contacts": (OPEN - timedelta(hours=1),)}):
        assert not isinstance(decide(facts(crm=None, **earlier)), ConsultCrm)


def test_the_first_objection_in_spec_order_wins() -> None:
    everything_wrong = facts(
        opted_out=True, now=CLOSED, recent_contacts=(CLOSED - timedelta(hours=1),), crm=CrmAnswer(None)
    )
    assert decide(everything_wrong).reason is SkipReason.OPTED_OUT  # type: ignore[union-attr]
    assert decide(everything_wrong._replace(opted_out=False)).reason is SkipReason.WINDOW  # type: ignore[union-attr]


def test_a_payment_claims_quiet_period_defers_to_its_end_and_then_lets_the_crm_decide() -> None:
    quiet_until = OPEN + timedelta(days=3)  # Thursday 12:00 in São Paulo, inside the window

    verdict = decide(facts(quiet_until=quiet_until, crm=None))

    assert isinstance(verdict, Defer) and verdict.at == quiet_until
    assert isinstance(decide(facts(quiet_until=OPEN, crm=None)), ConsultCrm)  # over: the CRM is asked


def test_a_held_customer_is_not_contacted_but_the_crm_is_read_for_what_she_paid() -> None:
    # Reading the CRM contacts nobody: the hold keeps the contact away, not the payment's detection.
    assert isinstance(decide(facts(held=True, crm=None)), ConsultCrm)
    assert isinstance(decide(facts(held=True, crm=None, now=CLOSED)), ConsultCrm)

    still_owes = decide(facts(held=True))
    assert isinstance(still_owes, Defer) and still_owes.reason is SkipReason.HUMAN_HOLD
    assert still_owes.at == OPEN + HOLD_RETRY
    assert "Cliente em atendimento humano; em aberto no CRM: R$ 150,00" in still_owes.details
    assert still_owes.checked is not None  # what is open of the case goes on it (`openAmount`)

    paid = decide(facts(held=True, crm=CrmAnswer(NOTHING_OPEN)))
    assert isinstance(paid, Finish) and (paid.reason, paid.outcome) == (SkipReason.PAID, Outcome.PAID)
    assert decide(facts(held=True, opted_out=True)).reason is SkipReason.OPTED_OUT  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (CrmAnswer(None, unavailable="timeout"), "CRM indisponível, pagamento não verificado"),
        (CrmAnswer(None), "cliente não encontrado no CRM"),  # a 404 is never a payment
    ],
)
def test_a_held_customer_the_crm_cannot_say_about_stays_held_and_is_looked_at_again_later(
    answer: CrmAnswer, said: str
) -> None:
    verdict = decide(facts(held=True, crm=answer))

    assert isinstance(verdict, Defer) and verdict.reason is SkipReason.HUMAN_HOLD
    assert verdict.at == OPEN + HOLD_RETRY and verdict.checked is None
    assert said in verdict.details


def test_a_hold_reaching_past_closing_time_defers_to_the_next_opening() -> None:
    late = OPEN.replace(hour=22, minute=30)  # 19:30 in São Paulo: the window closes before the retry

    verdict = decide(facts(held=True, now=late))

    assert isinstance(verdict, Defer) and verdict.reason is SkipReason.HUMAN_HOLD
    assert verdict.at == WINDOW.next_opening(late + HOLD_RETRY)
    assert verdict.at.astimezone(WINDOW.tz).hour == 8


def test_a_closed_window_defers_to_its_exact_next_opening() -> None:
    verdict = decide(facts(now=CLOSED))

    assert isinstance(verdict, Defer) and verdict.at == NEXT_OPENING
    assert "Fora da janela de contato" in verdict.details


def test_the_frequency_cap_defers_into_the_window_after_the_cap_lifts() -> None:
    verdict = decide(facts(recent_contacts=(OPEN - timedelta(hours=2),)))

    assert isinstance(verdict, Defer) and verdict.at == NEXT_OPENING  # tomorrow, once the window opens


def test_an_active_promise_defers_the_case_to_the_window_after_the_promised_day() -> None:
    verdict = decide(facts(active_promise=PROMISE))

    # Promised for Friday 14/03: the case waits for Saturday 15/03, 08:00 in São Paulo.
    assert isinstance(verdict, Defer) and verdict.at == datetime(2025, 3, 15, 11, 0, tzinfo=UTC)
    assert "válida até 14/03/2025" in verdict.details


def test_a_paid_or_unknown_customer_ends_the_case_even_under_a_promise() -> None:
    assert decide(facts(active_promise=PROMISE, crm=CrmAnswer(NOTHING_OPEN))).reason is SkipReason.PAID  # type: ignore[union-attr]
    assert decide(facts(active_promise=PROMISE, crm=CrmAnswer(None))).reason is SkipReason.UNKNOWN_CUSTOMER  # type: ignore[union-attr]


def test_a_crm_outage_retries_within_the_window_and_never_contacts() -> None:
    verdict = decide(facts(crm=CrmAnswer(None, unavailable="timeout")))

    assert isinstance(verdict, Defer) and verdict.at == OPEN + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("now", "channel", "expected"),
    [
        (CLOSED, Channel.WHATSAPP, Defer),
        (OPEN, None, Finish),
        (OPEN, Channel.VOICE, Take),
    ],
)
def test_the_sweep_reschedules_completes_or_takes(
    now: datetime, channel: Channel | None, expected: type
) -> None:
    verdict = decide_sweep(now=now, window=WINDOW, channel=channel)

    assert isinstance(verdict, expected)
    if isinstance(verdict, Take):
        assert verdict.channel is Channel.VOICE
    if isinstance(verdict, Finish):
        assert (verdict.reason, verdict.outcome) == (SkipReason.UNREACHABLE, Outcome.NOT_ON_WHATSAPP)
