"""Whole customer journeys walked across days, as a collection team follows them: the import, the first
message, the replies, the follow-ups in the customer's own contact window, payments, a person at the
desk, a new phone number, promises across campaigns, the contact budget, and the endings. Each step
asserts what the team expects to see on the case, in the CRM's light and in the customer's chat."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from infra.local.simulators.crm import SimInvoice
from shared.core.jobs import InboundMessage
from shared.data import conversations
from shared.data import targets as targets_data
from shared.domain.models import Outcome, Target, TargetState
from shared.engine import handoff, inbound
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
