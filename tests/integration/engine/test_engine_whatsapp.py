"""The WhatsApp outreach worker: the first message and its records, fallback, provider failures,
and exactly-once sends under redelivery, duplicates, crashes and a flaky Evolution API."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.adapters import clients, queues
from shared.adapters.evolution import EvolutionClient
from shared.core.config import get_settings
from shared.data import contact_log, conversations, counters, messages
from shared.data import targets as targets_data
from shared.domain.models import (
    Channel,
    ContactMethod,
    ConversationSource,
    DeliveryStatus,
    Invoice,
    Outcome,
    Sender,
    TargetState,
)
from shared.engine import reporting, routing, sweep
from shared.imports import ingest
from tests.integration.engine.engine_world import Engine, cpf, invoice, mobile


def _campaign_counters(engine: Engine, campaign_id: str) -> dict[str, int]:
    return counters.read(counters.campaign_scope(campaign_id))


def test_first_message_is_sent_and_recorded_with_conversation_and_message(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 1)

    report = engine.drain("whatsapp")

    assert report.succeeded == 1 and report.failed == 0
    [sent] = engine.evolution.sent
    assert sent.number == target.phone
    stored = engine.get(target)
    assert stored.state is TargetState.CONTACTED
    assert stored.attempt_count == 1 and stored.channel is Channel.WHATSAPP
    assert stored.last_attempt_at == engine.clock.now()
    assert stored.outcome is None
    assert stored.outcome_details == "Mensagem inicial enviada por WhatsApp"
    conversation = conversations.by_chat_id(f"whatsapp_{target.phone}")
    assert conversation is not None and stored.conversation_id == conversation.id
    assert conversation.source is ConversationSource.WHATSAPP_CAMPAIGN
    assert conversation.assigned_assistant == "cobranca"
    assert (conversation.target_id, conversation.campaign_id) == (target.id, campaign.id)
    assert (conversation.document, conversation.client_name, conversation.phone) == (
        target.document,
        target.client_name,
        target.phone,
    )
    assert conversation.identity_confirmed is False
    [message] = messages.list_for(conversation.id)
    assert message.sender is Sender.ASSISTANT and message.is_from_campaign
    assert message.channel is Channel.WHATSAPP
    assert message.content == sent.text
    assert message.external_id == sent.id
    assert message.delivery_status is DeliveryStatus.PENDING
    assert _campaign_counters(engine, campaign.id)["contacts:whatsapp"] == 1
    assert _campaign_counters(engine, campaign.id)["contacted"] == 1
    assert reporting.global_metrics().total_whatsapp_messages == 1
    assert len(contact_log.contacts_since(target.document, engine.clock.now() - timedelta(days=1))) == 1


def test_a_job_whose_target_reads_a_moment_stale_is_read_again_strongly_and_sent(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    campaign = engine.campaign()
    pending = engine.target(campaign, 1)
    sweep.schedule(pending, [TargetState.PENDING], Channel.WHATSAPP)
    fresh = targets_data.get

    def lagging(target_id: str, *, consistent: bool = True) -> Any:
        # An eventually consistent read that has not seen the scheduling yet.
        return fresh(target_id) if consistent else pending

    monkeypatch.setattr(targets_data, "get", lagging)

    engine.drain("whatsapp")

    assert len(engine.evolution.sent) == 1
    assert fresh(pending.id).state is TargetState.CONTACTED


def test_greeting_names_the_creditor_and_how_to_stop_but_no_amount_or_invoice(engine: Engine):
    campaign = engine.campaign()
    invoice = Invoice(invoice_number="FAT-2025-02-777", amount=Decimal("89.90"), due_date=date(2025, 2, 10))
    target = engine.scheduled(campaign, 2, client_name="Maria Souza", invoices=[invoice])

    engine.drain("whatsapp")

    [text] = engine.evolution.texts_to(target.phone)
    assert "TR Telecom" in text and "CNPJ 11.222.333/0001-81" in text  # CDC art. 42-A
    assert "Lia" in text and "Maria Souza" in text
    assert "PARAR" in text
    assert "CPF" in text  # identity is confirmed before any detail
    for forbidden in (
        "R$",
        "89,90",
        "89.90",
        "FAT-2025-02-777",
        "fatura",
        "dívida",
        "débito",
        target.document,
    ):
        assert forbidden not in text


def test_greeting_of_a_company_asks_for_the_cnpj(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 3, document="11444777000161")

    engine.drain("whatsapp")

    [text] = engine.evolution.texts_to(target.phone)
    assert "confirmar o CNPJ do titular" in text


def test_an_existing_chat_is_reused_and_pointed_at_the_new_debtor(engine: Engine, make_conversation):
    campaign = engine.campaign()
    target = engine.target(campaign, 4)
    earlier = conversations.create(
        make_conversation(
            chat_id=f"whatsapp_{target.phone}",
            phone=target.phone,
            source=ConversationSource.INBOUND,
            document="52998224725",
            identity_confirmed=True,
        )
    )
    sweep.schedule(target, [TargetState.PENDING], Channel.WHATSAPP)

    engine.drain("whatsapp")

    reused = conversations.get(earlier.id)
    assert engine.get(target).conversation_id == earlier.id
    assert reused.source is ConversationSource.INBOUND  # where the chat began
    assert (reused.target_id, reused.campaign_id, reused.document) == (
        target.id,
        campaign.id,
        target.document,
    )
    assert reused.identity_confirmed is False  # another document: identity must be confirmed again
    assert [m.sender for m in messages.list_for(earlier.id)] == [Sender.ASSISTANT]


def test_not_on_whatsapp_falls_back_to_a_call_when_the_campaign_allows_it(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 5)
    engine.evolution.not_on_whatsapp.add(target.phone)

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert stored.state is TargetState.SCHEDULED and stored.channel is Channel.VOICE
    assert stored.outcome is Outcome.NOT_ON_WHATSAPP and stored.attempt_count == 1
    assert engine.bodies("dialer") == [
        {"targetId": target.id, "campaignId": campaign.id, "channel": "voice", "attempt": 2}
    ]
    # The WhatsApp attempt contacted no one: its day slot is free for the call.
    assert contact_log.contacts_since(target.document, engine.clock.now() - timedelta(days=1)) == []

    engine.drain("dialer")

    [call] = engine.twilio.calls_to(f"+{target.phone}")
    called = engine.get(target)
    assert called.state is TargetState.CALLING and called.call_sid == call.sid and called.attempt_count == 2
    assert engine.evolution.sent == []


def test_not_on_whatsapp_completes_the_target_when_no_other_channel_is_allowed(engine: Engine):
    campaign = engine.campaign(allowed_methods=[Channel.WHATSAPP], fallback_order=[Channel.WHATSAPP])
    target = engine.scheduled(campaign, 6)
    engine.evolution.not_on_whatsapp.add(target.phone)

    engine.drain("whatsapp")

    stored = engine.get(target)
    assert stored.state is TargetState.COMPLETED and stored.outcome is Outcome.NOT_ON_WHATSAPP
    assert engine.bodies("dialer") == []
    assert _campaign_counters(engine, campaign.id).get("contacts:whatsapp", 0) == 0


def test_a_message_evolution_refuses_is_a_failed_attempt_not_a_retry(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 7)
    wrong_key = get_settings().evolution()
    clients.install(
        whatsapp=EvolutionClient(
            type(wrong_key)(wrong_key.url, type(wrong_key.api_key)("wrong-key"), wrong_key.instance),
            timeout=5.0,
        )
    )

    report = engine.drain("whatsapp")

    assert report.failed == 0  # definitive: the job is done, not redelivered
    stored = engine.get(target)
    assert stored.outcome is Outcome.FAILED and "WhatsApp recusou a mensagem" in (
        stored.outcome_details or ""
    )
    assert stored.state is TargetState.PENDING  # concluded as a failed attempt: retried later
    assert stored.channel_attempts == 1
    assert stored.next_attempt_at == engine.clock.now() + timedelta(hours=2)
    assert engine.evolution.sent == []
    assert contact_log.contacts_since(target.document, engine.clock.now() - timedelta(days=1)) == []


def test_evolution_down_leaves_the_job_for_sqs_to_retry_and_sends_once_it_is_back(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 8)
    engine.evolution.failure_rate = 1.0

    first = engine.drain("whatsapp", max_rounds=1)

    assert first.failed == 1 and engine.evolution.sent == []
    stored = engine.get(target)
    assert stored.state is TargetState.SCHEDULED and stored.attempt_count == 0  # the claim was undone
    assert contact_log.contacts_since(target.document, engine.clock.now() - timedelta(days=1)) == []

    engine.evolution.failure_rate = 0.0
    second = engine.drain("whatsapp")

    assert second.succeeded == 1
    assert len(engine.evolution.texts_to(target.phone)) == 1
    assert engine.get(target).state is TargetState.CONTACTED


def test_the_same_batch_delivered_three_times_sends_one_message_per_target(engine: Engine):
    campaign = engine.campaign()
    targets = [engine.scheduled(campaign, seed) for seed in range(10, 15)]
    event = engine.event("whatsapp", engine.receive("whatsapp"))
    assert len(event["Records"]) == 5

    results = [engine.invoke("whatsapp", event) for _ in range(3)]

    assert all(result["batchItemFailures"] == [] for result in results)
    assert sorted(s.number for s in engine.evolution.sent) == sorted(t.phone for t in targets)
    assert all(engine.get(t).attempt_count == 1 for t in targets)
    assert _campaign_counters(engine, campaign.id)["contacts:whatsapp"] == 5


def test_a_redelivery_after_a_crash_between_send_and_record_never_sends_again(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 20)
    data_client: Any = targets_data.TargetRecord._get_connection().connection.client
    message_table = messages.MessageRecord.Meta.table_name

    def crash_on_message_write(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == message_table:
            raise ConnectionError("worker died after the send")

    data_client.meta.events.register("before-parameter-build.dynamodb.PutItem", crash_on_message_write)
    try:
        crashed = engine.drain("whatsapp", max_rounds=1)
    finally:
        data_client.meta.events.unregister("before-parameter-build.dynamodb.PutItem", crash_on_message_write)
    assert crashed.failed == 1 and len(engine.evolution.sent) == 1

    redelivered = engine.drain("whatsapp")

    assert redelivered.succeeded == 1
    assert len(engine.evolution.texts_to(target.phone)) == 1  # at most once
    stored = engine.get(target)
    assert stored.state is TargetState.CONTACTED
    assert (stored.outcome_details or "").startswith("Entrega desconhecida")


def test_a_job_for_an_older_attempt_or_another_channel_does_nothing(engine: Engine):
    campaign = engine.campaign()
    target = engine.scheduled(campaign, 21)
    engine.drain("whatsapp")
    routing.dispatch(engine.get(target), Channel.WHATSAPP, attempt=1)  # a copy of the old job

    report = engine.drain("whatsapp")

    assert report.succeeded == 1
    assert len(engine.evolution.texts_to(target.phone)) == 1


def test_a_voice_job_on_the_whatsapp_queue_is_refused_not_sent(engine: Engine):
    campaign = engine.campaign(contact_method=ContactMethod.VOICE, fallback_order=[Channel.VOICE])
    target = engine.target(campaign, 22)
    queues.send(
        "whatsapp", {"targetId": target.id, "campaignId": campaign.id, "channel": "voice", "attempt": 1}
    )

    report = engine.drain("whatsapp", max_rounds=1)

    assert report.failed == 1  # retried, then dead-lettered: nothing lost, nothing sent
    assert engine.evolution.sent == [] and engine.twilio.calls == {}


@pytest.mark.parametrize("body", ["not json", '{"targetId": "X"}'])
def test_a_malformed_job_fails_its_record_and_ends_in_the_dlq(engine: Engine, body: str):
    engine.sqs.send_message(QueueUrl=engine.urls["whatsapp"], MessageBody=body)

    for _ in range(6):
        engine.drain("whatsapp", max_rounds=1)

    found = engine.sqs.receive_message(QueueUrl=engine.dlq_urls["whatsapp"], MaxNumberOfMessages=10)
    assert [m["Body"] for m in found.get("Messages", [])] == [body]
    assert engine.evolution.sent == []


def test_with_evolution_failing_30_percent_every_target_gets_exactly_one_message_or_is_dead_lettered(
    engine: Engine,
):
    engine.evolution.failure_rate = 0.3  # half of the failures are 500s, half hang past the timeout
    campaign = engine.campaign()
    targets = {t.id: t for t in (engine.scheduled(campaign, seed) for seed in range(100, 110))}

    report = engine.drain("whatsapp", max_rounds=60)

    assert engine.evolution.failures_injected > 0 and report.failed > 0
    dead = {body["targetId"] for body in _all_dead_letters(engine)}
    for target_id, target in targets.items():
        sent = engine.evolution.texts_to(target.phone)
        if target_id in dead:
            assert sent == [] and engine.get(target_id).state is TargetState.SCHEDULED
        else:
            assert len(sent) == 1, f"{len(sent)} messages to one target"
            assert engine.get(target_id).state is TargetState.CONTACTED
    print(f"30% failures: {report.failed} failed deliveries retried, {len(dead)} of 10 dead-lettered")


def _all_dead_letters(engine: Engine) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while batch := engine.dead_letters("whatsapp"):
        bodies.extend(batch)
    return bodies


def test_a_customer_with_three_invoice_rows_is_one_case_with_one_first_message(engine: Engine):
    campaign = engine.campaign()
    document, phone = cpf(31), mobile("11", 31)
    sheet = "nome;celular;cpf;valor;fatura;vencimento\n" + "".join(
        f"Maria Souza;{phone};{document};89,90;F-{n};10/0{n}/2025\n" for n in (1, 2, 3)
    )
    numbers = [f"F-{n}" for n in (1, 2, 3)]
    engine.crm.add_customer(document, "Maria Souza", [invoice(number=number) for number in numbers])

    job = ingest.import_targets(campaign.id, io.BytesIO(sheet.encode()), "clientes.csv")
    engine.tick()
    engine.drain("whatsapp")
    engine.tick()
    engine.drain("whatsapp")

    assert (job.imported, job.customers_created, job.duplicates) == (3, 1, 0)
    [case] = targets_data.list_for_campaign(campaign.id).items
    assert [item.invoice_number for item in case.invoices] == numbers
    assert case.debt_amount == Decimal("269.70")
    assert len(engine.evolution.texts_to(phone)) == 1
    assert case.contact_count == 1  # one outreach for the three invoices
    conversation = conversations.by_chat_id(f"whatsapp_{phone}")
    assert conversation is not None and conversation.target_id == case.id
