"""Whole customer journeys walked across days, as a collection team follows them: the import, the first
message, the replies, the follow-ups in the customer's own contact window, payments, a person at the
desk, a new phone number, promises across campaigns, the contact budget, and the endings. Each step
asserts what the team expects to see on the case, in the CRM's light and in the customer's chat."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.local.simulators.crm import SimInvoice
from shared.adapters import clients, promise_schedules
from shared.core.jobs import InboundMessage
from shared.data import campaigns as campaigns_data
from shared.data import conversations, messages
from shared.data import promises as promises_data
from shared.data import targets as targets_data
from shared.domain.models import CampaignStatus, Channel, Outcome, Promise, PromiseStatus, Target, TargetState
from shared.engine import handoff, inbound, postcall, promise_monitor
from shared.engine.reporting import campaign_stats
from shared.imports import ingest
from tests.integration.engine.engine_world import Engine, cpf, mobile

MANAUS = ZoneInfo("America/Manaus")  # DDD 92: four hours behind UTC, no DST
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def _at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = MANAUS) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


class Chat:
    """A customer writing on WhatsApp from one number (each message a fresh Evolution id)."""

    sequence = 0

    def __init__(self, phone: str, name: str = "Cliente") -> None:
        self.phone = phone
        self.name = name

    def says(self, text: str) -> inbound.TurnResult:
        Chat.sequence += 1
        return inbound.handle(
            InboundMessage(
                message_id=f"3EB0J{Chat.sequence:08d}",
                remote_jid=f"{self.phone}@s.whatsapp.net",
                phone=self.phone,
                text=text,
                push_name=self.name,
            )
        )


def _day(engine: Engine, at: datetime) -> None:
    """The clock at `at`, a cron tick, the outreach workers' queues drained."""
    engine.clock.set(at)
    engine.tick()
    engine.drain("whatsapp")
    engine.drain("dialer")


def _import(
    engine: Engine, campaign_id: str, rows: list[tuple[str, str, str, str, str, str]]
) -> ingest.ImportJob:
    sheet = "nome;celular;cpf;valor;fatura;vencimento\n" + "".join(";".join(row) + "\n" for row in rows)
    return ingest.import_targets(campaign_id, io.BytesIO(sheet.encode()), "clientes.csv")


def _only_case(campaign_id: str) -> Target:
    [case] = targets_data.list_for_campaign(campaign_id).items
    return case


def _case_of(campaign_id: str, document: str) -> Target:
    [case] = [c for c in targets_data.list_for_campaign(campaign_id).items if c.document == document]
    return case


def _counters_agree_with_the_cases(*campaign_ids: str) -> None:
    """What the campaign's stats say (its counters) is what its cases are: states, outcomes, total."""
    for campaign_id in campaign_ids:
        cases = targets_data.list_for_campaign(campaign_id).items
        stats = campaign_stats(campaign_id)
        assert stats.total_targets == len(cases)
        states = {state.value: sum(c.state is state for c in cases) for state in TargetState}
        assert stats.states == states
        outcomes = {outcome.value: sum(c.outcome is outcome for c in cases) for outcome in Outcome}
        assert stats.outcomes == outcomes
        assert stats.contacted == sum(c.contact_count > 0 for c in cases)


# --- 1. Maria: three invoices, "vou ver", half paid, a person at the desk, a new phone -------------------

MARIA = cpf(501)
MARIA_PHONE = mobile("92", 501)
MARIA_NEW_PHONE = mobile("92", 502)
MARIA_INVOICES = [
    SimInvoice("F-101", Decimal("100.10"), date(2025, 1, 10)),
    SimInvoice("F-102", Decimal("80.20"), date(2025, 2, 10)),
    SimInvoice("F-103", Decimal("89.75"), date(2025, 3, 1)),
]
MONDAY = date(2025, 3, 10)


def test_maria_one_case_followed_up_in_her_window_through_a_partial_payment_and_the_desk(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=3, max_contacts=6)
    engine.crm.add_customer(MARIA, "Maria Souza", list(MARIA_INVOICES))
    rows = [
        (
            "Maria Souza",
            MARIA_PHONE,
            MARIA,
            f"{i.amount}".replace(".", ","),
            i.number,
            f"{i.due_date:%d/%m/%Y}",
        )
        for i in MARIA_INVOICES
    ]
    job = _import(engine, campaign.id, rows)
    assert (job.imported, job.customers_created) == (3, 1)

    # Monday 08:00 in Manaus: the first message, one for the three invoices.
    _day(engine, _at(MONDAY, 8))
    _day(engine, _at(MONDAY, 9))
    case = _only_case(campaign.id)
    assert case.debt_amount == Decimal("270.05")
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == 1
    assert case.contact_count == 1 and case.state is TargetState.CONTACTED

    # Monday 19:50 in Manaus she answers "vou ver": a follow-up three days later, inside her window.
    maria = Chat(MARIA_PHONE, "Maria")
    engine.clock.set(_at(MONDAY, 19, 50))
    maria.says("vou ver")
    case = engine.get(case)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == _at(MONDAY + timedelta(days=3), 19, 50)
    sent_before = len(engine.evolution.texts_to(MARIA_PHONE))

    # Tuesday and Wednesday: nothing to her.
    for offset in (1, 2):
        _day(engine, _at(MONDAY + timedelta(days=offset), 10))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent_before

    # Thursday she pays the oldest invoice. At 19:55 her time the follow-up is due, but Amazonas allows
    # collection contacts until 18:00 only: it waits for Friday 08:00 in Manaus.
    engine.crm.pay_oldest(MARIA)
    _day(engine, _at(MONDAY + timedelta(days=3), 19, 55))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent_before
    assert engine.get(case).next_attempt_at == _at(MONDAY + timedelta(days=4), 8)
    _day(engine, _at(MONDAY + timedelta(days=4), 8))
    texts = engine.evolution.texts_to(MARIA_PHONE)
    assert len(texts) == sent_before + 1
    assert texts[-1].startswith("Olá, Maria Souza! Aqui é novamente")
    assert "R$" not in texts[-1]
    case = engine.get(case)
    assert case.state is TargetState.CONTACTED and case.outcome is not Outcome.PAID
    assert case.contact_count == 2

    # Friday she asks for a person: the desk holds her, no campaign contacts her meanwhile.
    other = engine.campaign(name="Cobrança Abril")
    elsewhere = engine.target(other, 501, phone=MARIA_PHONE, document=MARIA, in_crm=False)
    engine.clock.set(_at(MONDAY + timedelta(days=4), 9))
    maria.says("quero falar com um atendente")
    conversation = conversations.by_chat_id(f"whatsapp_{MARIA_PHONE}")
    assert conversation is not None and handoff.is_silenced(conversation)
    sent_before = len(engine.evolution.texts_to(MARIA_PHONE))
    for offset in range(4, 12):
        if (MONDAY + timedelta(days=offset)).isoweekday() != 7:
            _day(engine, _at(MONDAY + timedelta(days=offset), 10))
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == sent_before
    assert engine.get(elsewhere).state is TargetState.PENDING

    # Saturday the human resolves her conversation without a promise: her case follows the cadence
    # again, three days later (it is not left `contacted` with nothing due), and the other campaign,
    # held meanwhile, contacts her at its next tick.
    resolved_on = MONDAY + timedelta(days=12)  # Saturday 22/03
    engine.clock.set(_at(resolved_on, 9))
    handoff.resolve(conversation.id, by="token:agente")
    case = engine.get(case)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == _at(resolved_on + timedelta(days=3), 9)
    before = {c.id: c.contact_count for c in (case, engine.get(elsewhere))}
    for offset in range(0, 5):
        day = resolved_on + timedelta(days=offset)
        if day.isoweekday() != 7:
            sent = len(engine.evolution.texts_to(MARIA_PHONE))
            _day(engine, _at(day, 10))
            engine.delivered()
            assert len(engine.evolution.texts_to(MARIA_PHONE)) - sent <= 1  # one contact a day, any campaign
    case = engine.get(case)
    assert case.contact_count == before[case.id] + 1
    assert case.outcome_details == "Mensagem de retomada enviada por WhatsApp"
    assert engine.get(elsewhere).contact_count > before[elsewhere.id]
    _counters_agree_with_the_cases(campaign.id, other.id)


def test_maria_writing_from_a_new_number_learns_nothing_and_the_erp_sync_brings_it_to_her_case(
    engine: Engine,
):
    campaign = engine.campaign()
    engine.crm.add_customer(MARIA, "Maria Souza", list(MARIA_INVOICES))
    rows = [
        (
            "Maria Souza",
            MARIA_PHONE,
            MARIA,
            f"{i.amount}".replace(".", ","),
            i.number,
            f"{i.due_date:%d/%m/%Y}",
        )
        for i in MARIA_INVOICES
    ]
    _import(engine, campaign.id, rows)
    _day(engine, _at(MONDAY, 8))
    case = _only_case(campaign.id)

    # Tuesday she writes from a new number and gives her CPF: not on file, nothing disclosed.
    new = Chat(MARIA_NEW_PHONE, "Maria")
    engine.clock.set(_at(MONDAY + timedelta(days=1), 9))
    new.says("oi, recebi uma mensagem de vocês")
    new.says(MARIA)
    answers = engine.evolution.texts_to(MARIA_NEW_PHONE)
    assert answers and not any("R$" in text or "F-10" in text for text in answers)

    # The ERP sync (a re-import of the same invoices) brings the new number: the case keeps it.
    job = _import(engine, campaign.id, [(n, MARIA_NEW_PHONE, d, a, f, v) for n, _, d, a, f, v in rows])
    assert (job.duplicates, job.customers_updated) == (3, 1)
    case = engine.get(case)
    assert case.phones == [MARIA_PHONE, MARIA_NEW_PHONE] and case.phone == MARIA_PHONE
    assert case.debt_amount == Decimal("270.05")  # the same invoices, not counted twice

    # Now on file, the new number is Maria's: given her CPF again, she hears about her invoices.
    engine.clock.set(_at(MONDAY + timedelta(days=1), 10))
    new.says(MARIA)
    assert "R$ 270,05" in engine.evolution.texts_to(MARIA_NEW_PHONE)[-1]
    new.says("vou ver")

    # Whoever has her old number now says it is not Maria's: outreach moves to the new number, and
    # the old one is never contacted again, in this campaign or one imported later.
    old = Chat(MARIA_PHONE)
    engine.clock.set(_at(MONDAY + timedelta(days=1), 11))
    old.says("não sou eu, número errado")
    assert engine.get(case).phone == MARIA_NEW_PHONE
    later = engine.campaign(name="Cobrança Abril")
    _import(engine, later.id, rows)  # an older list, with the old number only
    to_old = len(engine.evolution.texts_to(MARIA_PHONE))
    outreach_before = len(engine.evolution.texts_to(MARIA_NEW_PHONE))
    for offset in range(2, 9):
        day = MONDAY + timedelta(days=offset)
        if day.isoweekday() != 7:
            _day(engine, _at(day, 10))
            engine.delivered()
    assert len(engine.evolution.texts_to(MARIA_PHONE)) == to_old
    follow_ups = engine.evolution.texts_to(MARIA_NEW_PHONE)[outreach_before:]
    assert follow_ups and follow_ups[0].startswith("Olá, Maria Souza! Aqui é novamente")
    assert engine.get(case).contact_count == 1 + len(follow_ups)
    assert _only_case(later.id).state is TargetState.COMPLETED  # only the wrong number: nobody to reach
    _counters_agree_with_the_cases(campaign.id, later.id)


# --- 2. João in two campaigns: one promise for both ----------------------------------------------------

JOAO = cpf(601)
JOAO_PHONE = mobile("11", 601)
F1 = SimInvoice("F-201", Decimal("100.00"), date(2025, 1, 10))
F2 = SimInvoice("F-202", Decimal("80.50"), date(2025, 2, 10))


class Checks:
    """The promise monitor's one-time schedules, fired by the test on the virtual clock."""

    def __init__(self) -> None:
        self.due: list[tuple[str, datetime]] = []

    def schedule_check(self, promise: Promise, at: datetime) -> str:
        self.due.append((promise.id, at))
        return f"check-{promise.id}-{at:%Y%m%d%H%M}"

    def cancel(self, name: str) -> None:
        return None

    def cancel_for(self, promise: Promise) -> None:
        self.due = [(pid, at) for pid, at in self.due if pid != promise.id]

    def fire(self, engine: Engine, now: datetime) -> list[promise_monitor.PromiseCheckOutcome]:
        """The clock at `now`, and every check due by then run by the monitor."""
        engine.clock.set(now)
        ready = [(pid, at) for pid, at in self.due if at <= now]
        self.due = [item for item in self.due if item not in ready]
        return [promise_monitor.check(pid, clients.crm()) for pid, _ in ready]


@pytest.fixture
def checks() -> Iterator[Checks]:
    fake = Checks()
    previous = promise_schedules.set_scheduler(fake)
    yield fake
    promise_schedules.set_scheduler(previous)


def _joao_in_two_campaigns(engine: Engine) -> tuple[Target, Target]:
    engine.crm.add_customer(JOAO, "João Lima", [F1, F2])
    march, april = engine.campaign(), engine.campaign(name="Cobrança Abril")
    held = {march.id: F1, april.id: F2}
    cases = []
    for campaign in (march, april):
        invoice = held[campaign.id]
        job = _import(
            engine,
            campaign.id,
            [
                (
                    "João Lima",
                    JOAO_PHONE,
                    JOAO,
                    f"{invoice.amount}".replace(".", ","),
                    invoice.number,
                    "10/01/2025",
                )
            ],
        )
        assert job.imported == 1
        cases.append(_only_case(campaign.id))
    return cases[0], cases[1]


def _promise_by_chat(engine: Engine, words: str) -> Promise:
    joao = Chat(JOAO_PHONE, "João")
    joao.says("sou eu")
    joao.says(JOAO)
    quote = engine.evolution.texts_to(JOAO_PHONE)[-1]
    assert "Total: R$ 180,50" in quote and "F-201" in quote and "F-202" in quote
    joao.says(words)
    [promise] = promises_data.active_for_document(JOAO, engine.clock.now())
    return promise


def test_joao_a_promise_in_one_campaign_defers_both_and_broken_returns_both(engine: Engine, checks: Checks):
    march_case, april_case = _joao_in_two_campaigns(engine)
    _day(engine, _at(MONDAY, 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(JOAO_PHONE)) == 1  # one contact a day, whichever campaign

    engine.clock.set(_at(MONDAY, 11, tz=SAO_PAULO))
    promise = _promise_by_chat(engine, "pago dia 14/03")
    assert (promise.amount, promise.open_amount) == (Decimal("180.50"), Decimal("180.50"))
    saturday = datetime(2025, 3, 15, tzinfo=SAO_PAULO)
    for case in (march_case, april_case):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PROMISE_MADE)
        assert stored.next_attempt_at >= saturday - timedelta(milliseconds=1)

    # Until the end of the promised Friday nobody contacts him, in either campaign.
    sent = len(engine.evolution.texts_to(JOAO_PHONE))
    for offset in range(1, 5):
        _day(engine, _at(MONDAY + timedelta(days=offset), 10, tz=SAO_PAULO))
    _day(engine, _at(date(2025, 3, 14), 19, 59, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(JOAO_PHONE)) == sent

    # Unpaid, it is checked every morning and broken seven days after the promised day; the cadence
    # goes on meanwhile (one contact a day, whichever campaign).
    day = date(2025, 3, 14)
    while promises_data.get(promise.id).status is PromiseStatus.PENDING:
        day += timedelta(days=1)
        assert day < MONDAY + timedelta(days=20), "the promise was never settled"
        checks.fire(engine, _at(day, 9, 1, tz=SAO_PAULO))
        if promises_data.get(promise.id).status is PromiseStatus.PENDING and day.isoweekday() != 7:
            sent = len(engine.evolution.texts_to(JOAO_PHONE))
            _day(engine, _at(day, 10, tz=SAO_PAULO))
            engine.delivered()
            assert len(engine.evolution.texts_to(JOAO_PHONE)) - sent <= 1
    assert (day, promises_data.get(promise.id).status) == (date(2025, 3, 22), PromiseStatus.BROKEN)
    for case in (march_case, april_case):
        stored = engine.get(case)
        assert (stored.state, stored.outcome) == (TargetState.PENDING, Outcome.PROMISE_BROKEN)
        assert stored.next_attempt_at == engine.clock.now()

    sent = len(engine.evolution.texts_to(JOAO_PHONE))
    _day(engine, _at(day, 10, tz=SAO_PAULO))
    after = engine.evolution.texts_to(JOAO_PHONE)[sent:]
    assert len(after) == 1 and "Não identificamos o pagamento combinado" in after[0]
    assert "R$" not in after[0]
    _counters_agree_with_the_cases(march_case.campaign_id, april_case.campaign_id)


def test_joao_keeps_a_partial_promise_and_the_open_invoice_is_still_collected(engine: Engine, checks: Checks):
    march_case, april_case = _joao_in_two_campaigns(engine)
    _day(engine, _at(MONDAY, 10, tz=SAO_PAULO))
    engine.clock.set(_at(MONDAY, 11, tz=SAO_PAULO))
    promise = _promise_by_chat(engine, "consigo pagar R$ 100,00 dia 14/03")
    assert (promise.amount, promise.open_amount) == (Decimal("100.00"), Decimal("180.50"))

    engine.crm.pay_oldest(JOAO)  # F-201, 100.00: the promised amount
    saturday = date(2025, 3, 15)
    engine.clock.set(_at(saturday, 9, tz=SAO_PAULO))
    checks.fire(engine, engine.clock.now())
    assert promises_data.get(promise.id).status.value == "fulfilled"

    paid, continued = engine.get(march_case), engine.get(april_case)
    assert (paid.state, paid.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert continued.state is TargetState.PENDING and continued.outcome is None
    assert continued.next_attempt_at == engine.clock.now() + timedelta(days=3)

    sent = len(engine.evolution.texts_to(JOAO_PHONE))
    _day(engine, _at(saturday + timedelta(days=3), 10, tz=SAO_PAULO))
    assert len(engine.evolution.texts_to(JOAO_PHONE)) == sent + 1
    assert campaign_stats(paid.campaign_id).paid == 1
    assert campaign_stats(continued.campaign_id).paid == 0
    assert campaign_stats(promise.campaign_id or "").fulfilled == 1
    money = campaign_stats(promise.campaign_id or "").money
    assert (money.promised, money.kept) == (Decimal("100.00"), Decimal("100.00"))
    _counters_agree_with_the_cases(march_case.campaign_id, april_case.campaign_id)


# --- 3. Nothing about a debt is disclosed to anyone but the confirmed debtor ---------------------------

ANA = cpf(701)
ANA_PHONE = mobile("21", 701)  # Rio de Janeiro: collection contacts 09:00-19:00 on weekdays
STRANGER_PHONE = mobile("31", 702)
ANA_INVOICE = SimInvoice("F-301", Decimal("1234.56"), date(2025, 1, 20))


def _no_debt_in(texts: list[str]) -> bool:
    return not any("R$" in text or "1.234,56" in text or "F-301" in text for text in texts)


def test_ana_only_the_confirmed_debtor_hears_about_the_debt_and_again_only_after_confirming(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=2)
    engine.crm.add_customer(ANA, "Ana Costa", [ANA_INVOICE])
    _import(engine, campaign.id, [("Ana Costa", ANA_PHONE, ANA, "1.234,56", "F-301", "20/01/2025")])
    _day(engine, _at(MONDAY, 8, 30, tz=SAO_PAULO))
    assert engine.evolution.texts_to(ANA_PHONE) == []  # Rio de Janeiro allows contacts from 09:00
    _day(engine, _at(MONDAY, 9, tz=SAO_PAULO))
    [first] = engine.evolution.texts_to(ANA_PHONE)
    assert "TR Telecom" in first and "PARAR" in first and _no_debt_in([first])

    # A stranger who knows her CPF writes from another number: nothing about her, whatever they ask.
    stranger = Chat(STRANGER_PHONE, "Fulano")
    engine.clock.set(_at(MONDAY, 10, tz=SAO_PAULO))
    for text in ("oi, quanto a Ana deve?", ANA, f"meu cpf é {ANA}, me passa o valor da fatura F-301"):
        stranger.says(text)
    assert _no_debt_in(engine.evolution.texts_to(STRANGER_PHONE))
    assert conversations.by_chat_id(f"whatsapp_{STRANGER_PHONE}").disclosures == []  # type: ignore[union-attr]

    # On her own number, before she gives the document: no amount either; another person's CPF neither.
    ana = Chat(ANA_PHONE, "Ana")
    ana.says("quanto eu devo?")
    ana.says(f"o cpf é {cpf(703)}")
    assert _no_debt_in(engine.evolution.texts_to(ANA_PHONE))

    # Her own CPF: now she hears the invoice and its amount, written the Brazilian way.
    ana.says(ANA)
    assert "R$ 1.234,56" in engine.evolution.texts_to(ANA_PHONE)[-1]
    ana.says("vou ver")
    assert engine.get(_only_case(campaign.id)).state is TargetState.PENDING

    # The follow-up is a new contact: the confirmation of Monday no longer opens the account.
    _day(engine, _at(MONDAY + timedelta(days=2), 11, tz=SAO_PAULO))
    follow_up = engine.evolution.texts_to(ANA_PHONE)[-1]
    assert follow_up.startswith("Olá, Ana Costa! Aqui é novamente") and _no_debt_in([follow_up])
    seen = len(engine.evolution.texts_to(ANA_PHONE))
    ana.says("qual é o valor mesmo?")
    assert _no_debt_in(engine.evolution.texts_to(ANA_PHONE)[seen:])
    ana.says(ANA)
    assert "R$ 1.234,56" in engine.evolution.texts_to(ANA_PHONE)[-1]

    # She offers part of it, thousands written with a dot: that is the promise, not the total.
    ana.says("consigo pagar 1.000 reais dia 14/03")
    assert engine.evolution.texts_to(ANA_PHONE)[-1].startswith(
        "Perfeito! Registrei que você vai pagar R$ 1.000,00 até 14/03/2025."
    )
    [promise] = promises_data.active_for_document(ANA, engine.clock.now())
    assert (promise.amount, promise.open_amount) == (Decimal("1000.00"), Decimal("1234.56"))
    _counters_agree_with_the_cases(campaign.id)


# --- 4. The contact budget: answered or not, never more than maxContacts -----------------------------

PEDRO = cpf(801)
PEDRO_PHONE = mobile("11", 801)


def test_pedro_unanswered_and_engaged_contacts_share_the_budget_then_exhausted_and_the_campaign_ends(
    engine: Engine,
):
    campaign = engine.campaign(follow_up_after_days=2, max_contacts=3, max_attempts_per_channel=3)
    engine.crm.add_customer(PEDRO, "Pedro Alves", [SimInvoice("F-401", Decimal("59.90"), date(2025, 2, 5))])
    _import(engine, campaign.id, [("Pedro Alves", PEDRO_PHONE, PEDRO, "59,90", "F-401", "05/02/2025")])
    pedro = Chat(PEDRO_PHONE, "Pedro")

    outreach: list[str] = []
    day = MONDAY
    for _ in range(20):
        if day.isoweekday() != 7:
            before = len(engine.evolution.texts_to(PEDRO_PHONE))
            _day(engine, _at(day, 10, tz=SAO_PAULO))
            engine.delivered()
            new = engine.evolution.texts_to(PEDRO_PHONE)[before:]
            assert len(new) <= 1
            outreach += new
            if len(outreach) == 2 and new:
                engine.clock.set(_at(day, 18, tz=SAO_PAULO))
                pedro.says("vou ver")  # engaged on the second contact, never resolves
        case = engine.get(_only_case(campaign.id))
        assert case.contact_count <= 3
        if case.state is TargetState.COMPLETED:
            break
        day += timedelta(days=1)

    case = engine.get(_only_case(campaign.id))
    assert (case.state, case.outcome, case.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 3)
    assert len(outreach) == 3
    assert "último contato" in outreach[-1] and "último contato" not in outreach[0] + outreach[1]
    assert outreach[1].startswith("Olá! 👋") or outreach[1].startswith("Olá, Pedro Alves! Aqui é novamente")

    engine.clock.advance(timedelta(hours=1))
    engine.tick()
    done = campaigns_data.get(campaign.id)
    assert done.status is CampaignStatus.COMPLETED
    stats = campaign_stats(campaign.id)
    assert (stats.contacted, stats.responded, stats.paid, stats.outcomes.get("exhausted")) == (1, 1, 0, 1)
    _counters_agree_with_the_cases(campaign.id)


# --- 5. The endings the CRM decides: unknown customer, time-barred debt ------------------------------


def test_a_customer_the_crm_does_not_know_is_unknown_and_only_time_barred_debts_are_never_collected(
    engine: Engine,
):
    campaign = engine.campaign()
    unknown, barred, owing = cpf(901), cpf(902), cpf(903)
    engine.crm.add_customer(
        barred, "Bia Prescrita", [SimInvoice("F-501", Decimal("70.00"), date(2019, 1, 10))]
    )
    engine.crm.add_customer(
        owing,
        "Caio Misto",
        [
            SimInvoice("F-502", Decimal("70.00"), date(2019, 1, 10)),
            SimInvoice("F-503", Decimal("45.10"), date(2025, 2, 1)),
        ],
    )
    rows = [
        ("Davi Desconhecido", mobile("11", 901), unknown, "99,90", "F-500", "10/02/2025"),
        ("Bia Prescrita", mobile("11", 902), barred, "70,00", "F-510", "10/02/2025"),
        ("Caio Misto", mobile("11", 903), owing, "45,10", "F-503", "01/02/2025"),
    ]
    _import(engine, campaign.id, rows)
    _day(engine, _at(MONDAY, 10, tz=SAO_PAULO))

    by_document = {case.document: case for case in targets_data.list_for_campaign(campaign.id).items}
    assert (by_document[unknown].state, by_document[unknown].outcome) == (
        TargetState.COMPLETED,
        Outcome.UNKNOWN_CUSTOMER,
    )
    assert (by_document[barred].state, by_document[barred].outcome) == (
        TargetState.COMPLETED,
        Outcome.TIME_BARRED,
    )
    assert by_document[owing].state is TargetState.CONTACTED
    assert engine.evolution.texts_to(mobile("11", 901)) == engine.evolution.texts_to(mobile("11", 902)) == []

    stats = campaign_stats(campaign.id)
    assert (stats.paid, stats.self_cured) == (0, 0)  # neither is a payment
    assert stats.money.recovered == Decimal("0.00")

    # Caio writes: only what can be collected is quoted, never the time-barred invoice.
    caio = Chat(mobile("11", 903), "Caio")
    caio.says("oi")
    caio.says(owing)
    quote = engine.evolution.texts_to(mobile("11", 903))[-1]
    assert "R$ 45,10" in quote and "F-502" not in quote and "R$ 70,00" not in quote
    _counters_agree_with_the_cases(campaign.id)


# --- 6. A send whose record was lost: the case is not left waiting for nothing -----------------------

LUCAS = cpf(1001)
LUCAS_PHONE = mobile("11", 1001)


def test_lucas_a_message_sent_but_never_recorded_is_concluded_not_left_contacted_forever(engine: Engine):
    campaign = engine.campaign(
        max_contacts=3,
        max_attempts_per_channel=3,
        allowed_methods=[Channel.WHATSAPP],
        fallback_order=[Channel.WHATSAPP],
    )
    engine.crm.add_customer(LUCAS, "Lucas Reis", [SimInvoice("F-601", Decimal("120.00"), date(2025, 2, 1))])
    _import(engine, campaign.id, [("Lucas Reis", LUCAS_PHONE, LUCAS, "120,00", "F-601", "01/02/2025")])
    engine.clock.set(_at(MONDAY, 10, tz=SAO_PAULO))
    engine.tick()
    data_client: Any = targets_data.TargetRecord._get_connection().connection.client
    message_table = messages.MessageRecord.Meta.table_name

    def crash_on_message_write(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == message_table:
            raise ConnectionError("worker died after the send")

    data_client.meta.events.register("before-parameter-build.dynamodb.PutItem", crash_on_message_write)
    try:
        engine.drain("whatsapp", max_rounds=1)
    finally:
        data_client.meta.events.unregister("before-parameter-build.dynamodb.PutItem", crash_on_message_write)
    engine.drain("whatsapp")
    assert len(engine.evolution.texts_to(LUCAS_PHONE)) == 1
    case = _only_case(campaign.id)
    assert case.state is TargetState.CONTACTED and (case.outcome_details or "").startswith(
        "Entrega desconhecida"
    )

    # Nobody answers: the attempt is concluded at its deadline, like any message nobody answered, and
    # the cadence goes on until the case ends; the campaign then completes.
    day = MONDAY
    for _ in range(20):
        if day.isoweekday() != 7:
            _day(engine, _at(day, 10, tz=SAO_PAULO))
            engine.delivered()
        if engine.get(case).state is TargetState.COMPLETED:
            break
        day += timedelta(days=1)
    case = engine.get(case)
    assert case.state is TargetState.COMPLETED, "the case was left waiting for nothing"
    # Three WhatsApp attempts, the unrecorded one among them: the ladder ends the case.
    assert (case.outcome, case.channel_attempts) == (Outcome.NO_ANSWER, 3)
    assert len(engine.evolution.texts_to(LUCAS_PHONE)) == 3
    engine.tick()
    assert campaigns_data.get(campaign.id).status is CampaignStatus.COMPLETED
    _counters_agree_with_the_cases(campaign.id)


# --- 7. Local time: a promise made late at night in Manaus -------------------------------------------


def test_maria_promising_tomorrow_late_at_night_in_manaus_is_held_to_the_end_of_her_tomorrow(
    engine: Engine, checks: Checks
):
    campaign = engine.campaign()
    engine.crm.add_customer(MARIA, "Maria Souza", list(MARIA_INVOICES))
    rows = [
        (
            "Maria Souza",
            MARIA_PHONE,
            MARIA,
            f"{i.amount}".replace(".", ","),
            i.number,
            f"{i.due_date:%d/%m/%Y}",
        )
        for i in MARIA_INVOICES
    ]
    _import(engine, campaign.id, rows)
    _day(engine, _at(MONDAY, 9))
    case = _only_case(campaign.id)

    # 21:30 on Monday in Manaus is already Tuesday in UTC: "amanhã" is her Tuesday.
    maria = Chat(MARIA_PHONE, "Maria")
    engine.clock.set(_at(MONDAY, 21, 30))
    maria.says("oi")
    maria.says(MARIA)
    maria.says("pago amanhã")
    assert "até 11/03/2025" in engine.evolution.texts_to(MARIA_PHONE)[-1]
    [promise] = promises_data.active_for_document(MARIA, engine.clock.now())
    assert promise.due_date == date(2025, 3, 11)
    assert promise.due_at == datetime(2025, 3, 11, 23, 59, 59, 999000, tzinfo=MANAUS)
    assert promise.amount == Decimal("270.05")

    # Nothing on her Tuesday: the case waits for her Wednesday, whose first check at 09:00 her time
    # finds the promise unpaid (checked again daily); the cadence may contact her from then on.
    sent = len(engine.evolution.texts_to(MARIA_PHONE))
    _day(engine, _at(MONDAY + timedelta(days=1), 10))
    assert engine.get(case).next_attempt_at == datetime(2025, 3, 12, tzinfo=MANAUS)  # her Wednesday
    assert checks.due == [(promise.id, datetime(2025, 3, 12, 9, tzinfo=MANAUS))]
    checks.fire(engine, _at(MONDAY + timedelta(days=2), 9))
    assert promises_data.get(promise.id).status is PromiseStatus.PENDING
    assert checks.due == [(promise.id, datetime(2025, 3, 13, 9, tzinfo=MANAUS))]
    _day(engine, _at(MONDAY + timedelta(days=2), 9, 30))
    texts = engine.evolution.texts_to(MARIA_PHONE)
    assert len(texts) == sent + 1 and texts[-1].startswith("Olá, Maria Souza! Aqui é novamente")
    _counters_agree_with_the_cases(campaign.id)


# --- 8. A new overdue invoice of a customer whose case is closed ------------------------------------

RUI = cpf(1101)
RUI_PHONE = mobile("11", 1101)


def test_rui_paid_then_a_new_invoice_is_refused_by_his_closed_case_not_silently_left_uncollected(
    engine: Engine,
):
    campaign = engine.campaign()
    engine.target(campaign, 77)  # another customer keeps the campaign running
    engine.crm.add_customer(RUI, "Rui Prado", [SimInvoice("F-701", Decimal("50.00"), date(2025, 2, 1))])
    _import(engine, campaign.id, [("Rui Prado", RUI_PHONE, RUI, "50,00", "F-701", "01/02/2025")])
    engine.crm.pay_all(RUI)
    _day(engine, _at(MONDAY, 10, tz=SAO_PAULO))
    case = _case_of(campaign.id, RUI)
    assert (case.state, case.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    before = campaign_stats(campaign.id).money

    # A month later his next invoice is overdue and the list is imported again into the campaign.
    engine.crm.add_customer(RUI, "Rui Prado", [SimInvoice("F-702", Decimal("70.00"), date(2025, 3, 1))])
    rows = [
        ("Rui Prado", RUI_PHONE, RUI, "50,00", "F-701", "01/02/2025"),
        ("Rui Prado", RUI_PHONE, RUI, "70,00", "F-702", "01/03/2025"),
    ]
    job = _import(engine, campaign.id, rows)

    assert (job.imported, job.duplicates, job.rejected, job.customers_updated) == (0, 1, 1, 0)
    assert [(error.line, error.code) for error in job.errors] == [(2, "duplicate"), (3, "case_closed")]
    assert "(paid)" in job.errors[1].message
    stored = engine.get(case)
    assert (stored.state, stored.outcome, stored.debt_amount) == (
        TargetState.COMPLETED,
        Outcome.PAID,
        Decimal("50.00"),
    )
    assert campaign_stats(campaign.id).money == before
    _counters_agree_with_the_cases(campaign.id)


# --- 9. A customer who never answered is not told "we talked" -----------------------------------------


def test_bruno_never_answers_and_the_next_message_does_not_claim_a_conversation_that_never_happened(
    engine: Engine,
):
    campaign = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    bruno, phone = cpf(1201), mobile("11", 1201)
    engine.crm.add_customer(bruno, "Bruno Dias", [SimInvoice("F-801", Decimal("99.00"), date(2025, 2, 1))])
    _import(engine, campaign.id, [("Bruno Dias", phone, bruno, "99,00", "F-801", "01/02/2025")])
    sent: list[str] = []
    for offset in range(3):
        before = len(engine.evolution.texts_to(phone))
        _day(engine, _at(MONDAY + timedelta(days=offset), 10, tz=SAO_PAULO))
        engine.delivered()
        sent += engine.evolution.texts_to(phone)[before:]
    assert len(sent) == 2  # the first message, then its retry a day after it went unanswered
    assert sent[1].startswith("Olá, Bruno Dias! Aqui é novamente")
    assert "Conversamos" not in sent[1] and "TR Telecom" in sent[1] and "PARAR" in sent[1]


# --- 10. The voicemail asks for a WhatsApp reply: the reply is an engagement --------------------------


def test_carla_answers_on_whatsapp_after_the_voicemail_and_gets_her_follow_up_not_another_call(
    engine: Engine,
):
    campaign = engine.campaign(follow_up_after_days=3, max_attempts_per_channel=2, voicemail_drop=True)
    carla, phone = cpf(1301), mobile("11", 1301)
    engine.crm.add_customer(carla, "Carla Nunes", [SimInvoice("F-901", Decimal("75.00"), date(2025, 2, 1))])
    _import(engine, campaign.id, [("Carla Nunes", phone, carla, "75,00", "F-901", "01/02/2025")])
    day = MONDAY  # two WhatsApp messages, delivered, never answered; then a call, the next channel
    while (case := _only_case(campaign.id)).state is not TargetState.CALLING:
        assert day < MONDAY + timedelta(days=7)
        _day(engine, _at(day, 12, tz=SAO_PAULO))
        engine.delivered()
        day += timedelta(days=1)
    assert case.channel is Channel.VOICE and len(engine.evolution.texts_to(phone)) == 2

    # A machine answers and takes the neutral voicemail, which asks her to reply on WhatsApp.
    left = postcall.conclude_attempt(case, Outcome.VOICEMAIL_LEFT)
    assert left.target is not None and left.target.outcome is Outcome.VOICEMAIL_LEFT

    engine.clock.advance(timedelta(minutes=30))
    Chat(phone, "Carla").says("oi, vi a ligação de vocês, do que se trata?")
    case = engine.get(case)
    assert (case.state, case.outcome) == (TargetState.PENDING, Outcome.ANSWERED)
    assert case.next_attempt_at == engine.clock.now() + timedelta(days=3)
    _day(engine, engine.clock.now() + timedelta(days=1))  # the call's retry would have been due by now
    assert len(engine.twilio.calls_to("+" + phone)) == 1
    _counters_agree_with_the_cases(campaign.id)


# --- 11. Answering the last notice late: a promise kept after the case was exhausted -----------------


DAVI = cpf(1401)
DAVI_PHONE = mobile("11", 1401)


def _exhausted_davi(engine: Engine) -> tuple[Target, str, date]:
    """Davi's case, exhausted after its two contacts went unanswered; his phone and the day it ended."""
    campaign = engine.campaign(
        max_contacts=2, allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP]
    )
    engine.target(campaign, 78)  # another customer keeps the campaign running
    engine.crm.add_customer(DAVI, "Davi Rocha", [SimInvoice("F-1001", Decimal("150.00"), date(2025, 2, 1))])
    _import(engine, campaign.id, [("Davi Rocha", DAVI_PHONE, DAVI, "150,00", "F-1001", "01/02/2025")])
    day = MONDAY
    while (case := engine.get(_case_of(campaign.id, DAVI))).state is not TargetState.COMPLETED:
        assert day < MONDAY + timedelta(days=10)
        if day.isoweekday() != 7:
            _day(engine, _at(day, 10, tz=SAO_PAULO))
            engine.delivered()
        day += timedelta(days=1)
    assert (case.outcome, case.contact_count) == (Outcome.EXHAUSTED, 2)
    assert "último contato" in engine.evolution.texts_to(DAVI_PHONE)[-1]
    return case, DAVI_PHONE, day


def test_davi_answers_the_last_notice_after_his_case_ended_promises_pays_and_his_case_is_paid(
    engine: Engine, checks: Checks
):
    case, phone, day = _exhausted_davi(engine)

    # Two days later he answers the last notice, as it invites him to, and promises to pay.
    engine.clock.set(_at(day + timedelta(days=2), 11, tz=SAO_PAULO))
    davi_chat = Chat(phone, "Davi")
    davi_chat.says("oi, quero resolver")
    davi_chat.says(DAVI)
    promised = engine.clock.now().astimezone(SAO_PAULO).date() + timedelta(days=2)
    davi_chat.says(f"pago dia {promised:%d/%m}")
    [promise] = promises_data.active_for_document(DAVI, engine.clock.now())
    engine.crm.pay_all(DAVI)
    checks.fire(engine, _at(promised + timedelta(days=1), 9, 1, tz=SAO_PAULO))

    assert promises_data.get(promise.id).status is PromiseStatus.FULFILLED
    paid = engine.get(case)
    assert (paid.state, paid.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    stats = campaign_stats(case.campaign_id)
    assert (stats.fulfilled, stats.paid, stats.money.recovered) == (1, 1, Decimal("150.00"))
    _counters_agree_with_the_cases(case.campaign_id)


def test_davi_says_he_paid_after_his_case_ended_and_the_crm_confirms_it(engine: Engine):
    case, phone, day = _exhausted_davi(engine)
    engine.crm.pay_all(DAVI)
    engine.clock.set(_at(day + timedelta(days=1), 11, tz=SAO_PAULO))
    davi = Chat(phone, "Davi")
    davi.says("oi")
    davi.says(DAVI)
    davi.says("já paguei essa fatura")

    paid = engine.get(case)
    assert (paid.state, paid.outcome) == (TargetState.COMPLETED, Outcome.PAID)
    assert campaign_stats(case.campaign_id).money.recovered == Decimal("150.00")
    _counters_agree_with_the_cases(case.campaign_id)
