"""The cadence until resolution: an engaged customer is followed up `followUpAfterDays` later with the
follow-up text, the last contact is the last notice, the budget ends the case `exhausted`; a
campaign's own texts; a campaign completes by itself; upkeep reads only the replies that are due."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.core.jobs import InboundMessage
from shared.data import campaigns as campaigns_data
from shared.data import counters
from shared.data import targets as targets_data
from shared.data.targets import Due, TargetRecord
from shared.domain.models import CampaignStatus, MessageStep, Outcome, TargetState
from shared.domain.phones import timezone_for_phone
from shared.engine import inbound, promises, upkeep
from tests.integration.engine.engine_world import Engine


def _reply(engine: Engine, phone: str, text: str, n: int) -> None:
    inbound.handle(
        InboundMessage(
            message_id=f"3EB0{n:08d}", remote_jid=f"{phone}@s.whatsapp.net", phone=phone, text=text
        )
    )


def _contact(engine: Engine) -> None:
    engine.tick()
    engine.drain("whatsapp")


def test_an_engaged_customer_is_followed_up_then_exhausted(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=3, max_contacts=3)
    target = engine.target(campaign, 31)
    _contact(engine)
    _reply(engine, target.phone, "vou ver", 1)

    stored = engine.get(target)
    assert (stored.state, stored.outcome, stored.contact_count) == (TargetState.PENDING, Outcome.ANSWERED, 1)
    assert stored.next_attempt_at == engine.clock.now() + timedelta(days=3)

    engine.clock.advance(timedelta(days=2))
    _contact(engine)
    assert len(engine.evolution.texts_to(target.phone)) == 1 + 1  # the first message and one reply

    engine.clock.advance(timedelta(days=1, hours=1))
    _contact(engine)
    follow_up = engine.evolution.texts_to(target.phone)[-1]
    assert follow_up.startswith("Olá, Cliente 31! Aqui é novamente")
    assert "PARAR" in follow_up and "CNPJ 11.222.333/0001-81" in follow_up and "89,90" not in follow_up
    assert engine.get(target).contact_count == 2

    _reply(engine, target.phone, "vou ver", 2)
    engine.clock.advance(timedelta(days=4))  # three days later is a Sunday: Monday, in the window
    _contact(engine)
    last = engine.evolution.texts_to(target.phone)[-1]
    assert "último contato" in last
    assert engine.get(target).contact_count == 3

    _reply(engine, target.phone, "vou ver", 3)
    assert engine.get(target).state is TargetState.CONTACTED  # talking: not ended while she writes
    engine.clock.advance(timedelta(hours=24))
    upkeep.run(campaign.id, engine.clock.now())
    ended = engine.get(target)
    assert (ended.state, ended.outcome) == (TargetState.COMPLETED, Outcome.EXHAUSTED)
    assert ended.outcome_details is not None and "limite de 3 contato(s)" in ended.outcome_details


def test_a_reply_to_the_last_notice_keeps_the_case_open_until_the_conversation_goes_quiet(engine: Engine):
    """ "Vou ver" to the last notice: the customer is talking, so the case is not declared exhausted — each
    message of hers keeps it open WHATSAPP_REPLY_HOURS (24 h) more; once she stops writing, upkeep ends
    it `exhausted`, without another contact."""
    campaign = engine.campaign(max_contacts=1)  # the first message is the last one
    target = engine.target(campaign, 35)
    _contact(engine)

    _reply(engine, target.phone, "vou ver", 1)
    talking = engine.get(target)
    assert (talking.state, talking.outcome) == (TargetState.CONTACTED, Outcome.ANSWERED)
    engine.clock.advance(timedelta(hours=20))
    _reply(engine, target.phone, "ainda estou vendo aqui", 2)
    engine.clock.advance(timedelta(hours=23))  # 43 h after her first message, 23 h after her last
    upkeep.run(campaign.id, engine.clock.now())
    assert engine.get(target).state is TargetState.CONTACTED

    engine.clock.advance(timedelta(hours=1))
    report = upkeep.run(campaign.id, engine.clock.now())
    ended = engine.get(target)
    assert (ended.state, ended.outcome, ended.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 1)
    assert ended.outcome_details is not None and "limite de 1 contato(s)" in ended.outcome_details
    assert report.quiet == 1
    sent = len(engine.evolution.texts_to(target.phone))
    _contact(engine)
    assert len(engine.evolution.texts_to(target.phone)) == sent


def test_unanswered_messages_spend_the_same_budget(engine: Engine):
    campaign = engine.campaign(max_contacts=2, max_attempts_per_channel=3)
    target = engine.target(campaign, 32)
    _contact(engine)
    engine.clock.advance(timedelta(hours=25))
    engine.tick()
    engine.clock.advance(timedelta(days=2))
    _contact(engine)
    assert "último contato" in engine.evolution.texts_to(target.phone)[-1]

    engine.clock.advance(timedelta(hours=25))
    upkeep.run(campaign.id, engine.clock.now())

    ended = engine.get(target)
    assert (ended.state, ended.outcome, ended.contact_count) == (TargetState.COMPLETED, Outcome.EXHAUSTED, 2)


def test_the_campaigns_own_texts_fill_their_placeholders(engine: Engine):
    campaign = engine.campaign(
        messages={
            MessageStep.FIRST_CONTACT: "Oi {nome}, aqui é a {empresa} ({cnpj}). Responda PARAR para sair.",
            MessageStep.FOLLOW_UP: "{nome}, voltando ao assunto. PARAR encerra.",
        }
    )
    target = engine.target(campaign, 33)
    _contact(engine)
    _reply(engine, target.phone, "depois eu vejo", 1)
    engine.clock.advance(timedelta(days=3, hours=1))
    _contact(engine)

    texts = engine.evolution.texts_to(target.phone)
    assert texts[0] == "Oi Cliente 33, aqui é a TR Telecom (11.222.333/0001-81). Responda PARAR para sair."
    assert texts[-1] == "Cliente 33, voltando ao assunto. PARAR encerra."


def test_a_campaign_whose_cases_are_all_completed_completes_itself(engine: Engine):
    campaign = engine.campaign(max_contacts=1)
    target = engine.target(campaign, 34)
    _contact(engine)
    engine.tick()
    assert campaigns_data.get(campaign.id).status is CampaignStatus.ACTIVE

    _reply(engine, target.phone, "vou ver", 1)
    engine.clock.advance(timedelta(hours=24))  # the conversation went quiet
    engine.tick()
    assert engine.get(target).outcome is Outcome.EXHAUSTED

    done = campaigns_data.get(campaign.id)
    assert done.status is CampaignStatus.COMPLETED and done.completed_at == engine.clock.now()


def test_upkeep_reads_only_the_replies_that_are_due(engine: Engine, monkeypatch):
    campaign = engine.campaign(max_attempts_per_channel=2)
    quiet = engine.targets(campaign, range(40, 45))
    for target in quiet:  # contacted long ago, resolved: never due
        targets_data.transition(
            target.id, [TargetState.PENDING], TargetState.CONTACTED, outcome=Outcome.PROMISE_MADE
        )
    due = engine.target(campaign, 46)
    _contact(engine)
    engine.delivered()
    engine.clock.advance(timedelta(hours=25))

    read: list[str] = []
    batch_get = TargetRecord.batch_get

    def counting(keys, **kwargs):
        keys = list(keys)
        read.extend(keys)
        return batch_get(keys, **kwargs)

    monkeypatch.setattr(TargetRecord, "batch_get", counting)
    # the receipt stamped the message alone: upkeep reads it at the attempt's first deadline
    assert [t.id for t in engine.awaiting(campaign.id, Due.DELIVERY, engine.clock.now())] == [due.id]
    assert upkeep.run(campaign.id, engine.clock.now()).unanswered == 1

    assert set(read) == {due.id}  # the contacted, resolved cases were never read
    assert engine.get(due).state is TargetState.PENDING
    assert engine.awaiting(campaign.id, Due.DELIVERY, engine.clock.now()) == []


def test_a_late_reply_replaces_the_retry_with_the_follow_up(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=3, max_attempts_per_channel=3)
    target = engine.target(campaign, 35)
    _contact(engine)
    engine.delivered()
    engine.clock.advance(timedelta(hours=25))
    engine.tick()
    assert engine.get(target).outcome is Outcome.NO_ANSWER  # its retry is due in two hours

    _reply(engine, target.phone, "vi agora, vou ver", 1)

    stored = engine.get(target)
    assert (stored.state, stored.outcome, stored.channel_attempts) == (
        TargetState.PENDING,
        Outcome.ANSWERED,
        0,
    )
    assert stored.next_attempt_at == engine.clock.now() + timedelta(days=3)


def test_a_customer_is_counted_as_responded_and_promised_once_by_the_writes_the_case_takes(engine: Engine):
    campaign = engine.campaign(follow_up_after_days=3)
    target = engine.target(campaign, 37)
    _contact(engine)

    _reply(engine, target.phone, "vou ver", 1)  # the follow-up's transition marks it
    _reply(engine, target.phone, "ok", 2)  # moves nothing: marked on its own, counted already
    promises.register(
        document=target.document,
        amount=Decimal("89.90"),
        day=engine.clock.now().date() + timedelta(days=2),
        open_total=Decimal("89.90"),
        tz=timezone_for_phone(target.phone),
        target_id=target.id,
    )  # the deferral of the case marks PROMISED

    counts = targets_data.counts(campaign.id)
    assert (counts.get("responded"), counts.get("promised")) == (1, 1)
    today = engine.clock.now().astimezone(timezone_for_phone(target.phone)).date()
    assert counters.read(counters.campaign_day_scope(campaign.id, today)).get("responses") == 1
    assert engine.get(target).outcome is Outcome.PROMISE_MADE
