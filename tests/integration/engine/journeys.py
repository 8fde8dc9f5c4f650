"""The world of the journey tests (test_engine_customer_journeys.py, test_engine_customer_promises.py,
test_engine_voice_journeys.py, test_engine_desk_journeys.py): customers writing on WhatsApp, calls rung
by the dialer and answered (the voice bridge's conversation and Lia's tools, without the audio),
business days of the cron and the outreach workers, spreadsheet imports, the promise monitor's checks
fired on the virtual clock, and the check that a campaign's counters agree with its cases."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.twilio import SimCall
from shared.adapters import clients
from shared.assistant.tools import ToolContext, ToolOutcome, invoke
from shared.core.jobs import InboundMessage
from shared.data import targets as targets_data
from shared.domain.ids import new_id
from shared.domain.models import Channel, Conversation, Message, Outcome, Promise, Sender, Target, TargetState
from shared.domain.phones import timezone_for_phone
from shared.engine import calls, inbound, promise_monitor
from shared.engine.conversations import open_conversation
from shared.engine.reporting import campaign_stats
from shared.imports import ingest
from tests.integration.engine.engine_world import Engine, cpf, mobile

MANAUS = ZoneInfo("America/Manaus")  # DDD 92: four hours behind UTC, no DST
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = MANAUS) -> datetime:
    """The instant (UTC) of `hour:minute` on `day` on the wall clock of `tz`."""
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


def business_day(engine: Engine, at: datetime) -> None:
    """The clock at `at`, a cron tick, the outreach workers' queues drained."""
    engine.clock.set(at)
    engine.tick()
    engine.drain("whatsapp")
    engine.drain("dialer")


def import_rows(
    engine: Engine, campaign_id: str, rows: list[tuple[str, str, str, str, str, str]]
) -> ingest.ImportJob:
    sheet = "nome;celular;cpf;valor;fatura;vencimento\n" + "".join(";".join(row) + "\n" for row in rows)
    return ingest.import_targets(campaign_id, io.BytesIO(sheet.encode()), "clientes.csv")


def sheet_rows(
    name: str, phone: str, document: str, invoices: list[SimInvoice]
) -> list[tuple[str, str, str, str, str, str]]:
    """A customer's rows of the collection team's spreadsheet, one per invoice (`import_rows`)."""
    return [
        (name, phone, document, f"{i.amount}".replace(".", ","), i.number, f"{i.due_date:%d/%m/%Y}")
        for i in invoices
    ]


def import_maria(engine: Engine, campaign_id: str) -> ingest.ImportJob:
    """Maria known to the CRM with her three invoices, and her three spreadsheet rows imported."""
    engine.crm.add_customer(MARIA, "Maria Souza", list(MARIA_INVOICES))
    return import_rows(engine, campaign_id, list(MARIA_ROWS))


def only_case(campaign_id: str) -> Target:
    [case] = targets_data.list_for_campaign(campaign_id).items
    return case


def case_of(campaign_id: str, document: str) -> Target:
    [case] = [c for c in targets_data.list_for_campaign(campaign_id).items if c.document == document]
    return case


def counters_agree_with_the_cases(*campaign_ids: str) -> None:
    """What the campaign's stats say (its counters) is what its cases are: states, outcomes, total, the
    cases contacted and those of them paid (the conversion rate), the money in collection and the money
    seen paid (recovered plus self-cured: a paid case's debt, what the CRM showed paid of any other)."""
    for campaign_id in campaign_ids:
        cases = targets_data.list_for_campaign(campaign_id).items
        stats = campaign_stats(campaign_id)
        assert stats.total_targets == len(cases)
        states = {state.value: sum(c.state is state for c in cases) for state in TargetState}
        assert stats.states == states
        outcomes = {outcome.value: sum(c.outcome is outcome for c in cases) for outcome in Outcome}
        assert stats.outcomes == outcomes
        assert stats.contacted == sum(c.contact_count > 0 for c in cases)
        [conversion] = [kpi for kpi in stats.kpis if kpi.name == "conversionRate"]
        converted = sum(c.outcome is Outcome.PAID and c.contact_count > 0 for c in cases)
        assert (conversion.numerator, conversion.denominator) == (converted, stats.contacted)
        assert stats.money.in_collection == sum((c.debt_amount for c in cases), Decimal("0.00"))
        seen_paid = sum(
            (c.debt_amount if c.outcome is Outcome.PAID else c.paid_amount or 0 for c in cases), Decimal(0)
        )
        assert stats.money.recovered + stats.money.self_cured == seen_paid


# --- calls: the dialer rings, Twilio reports, the voice bridge holds the answered call ----------------


def ring(engine: Engine) -> list[SimCall]:
    """A scheduler tick, then the dialer's queue drained: the calls placed by it."""
    before = set(engine.twilio.calls)
    engine.tick()
    engine.drain("dialer")
    return [call for sid, call in engine.twilio.calls.items() if sid not in before]


def call_status(engine: Engine, call: SimCall, status: str, **kwargs: object) -> None:
    """Twilio's status callback for `call`, through the post-call queue and its worker."""
    params = engine.twilio.status_params(call, status, **kwargs)  # type: ignore[arg-type]
    engine.sqs.send_message(QueueUrl=engine.urls["post_call"], MessageBody=json.dumps(params))
    report = engine.drain("post_call")
    assert report.failed == 0


class Call:
    """An answered call as the voice bridge holds it: its conversation, the transcript, Lia's tools."""

    def __init__(self, engine: Engine, call: SimCall) -> None:
        self.engine, self.call = engine, call
        target = targets_data.get(call.url.rsplit("/", 1)[1])
        call_status(engine, call, "in-progress", answered_by="human")
        self.conversation: Conversation = open_conversation(
            Channel.VOICE, target.phone, target=target, call_sid=call.sid
        )
        self.ctx = ToolContext(self.conversation, target, Channel.VOICE, timezone_for_phone(target.phone))
        self.ctx.customer_words = []

    def says(self, text: str) -> None:
        now = self.engine.clock.now()
        calls.record_line(
            Message(
                id=new_id(),
                conversation_id=self.conversation.id,
                sender=Sender.CUSTOMER,
                content=text,
                created_at=now,
                channel=Channel.VOICE,
                external_id=f"{self.call.sid}:{new_id()}",
            )
        )
        assert self.ctx.customer_words is not None
        self.ctx.customer_words.append((now, text))

    def tool(self, name: str, **arguments: object) -> ToolOutcome:
        return invoke(name, arguments, self.ctx)

    def hang_up(self, duration: int = 95) -> None:
        call_status(self.engine, self.call, "completed", duration=duration)


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


# Maria, in Manaus (Amazonas: collection contacts 08:00-18:00 on weekdays, until 14:00 on Saturdays),
# with three overdue invoices. The clock starts on Monday 10/03/2025.
MARIA = cpf(501)
MARIA_PHONE = mobile("92", 501)
MARIA_NEW_PHONE = mobile("92", 502)
MARIA_INVOICES = [
    SimInvoice("F-101", Decimal("100.10"), date(2025, 1, 10)),
    SimInvoice("F-102", Decimal("80.20"), date(2025, 2, 10)),
    SimInvoice("F-103", Decimal("89.75"), date(2025, 3, 1)),
]
# Her three rows of the collection team's spreadsheet (`import_rows`).
MARIA_ROWS = tuple(sheet_rows("Maria Souza", MARIA_PHONE, MARIA, MARIA_INVOICES))
MONDAY = date(2025, 3, 10)
