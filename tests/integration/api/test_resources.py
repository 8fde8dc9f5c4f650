"""Targets, promises, conversations, opt-outs, stats and metrics routes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.core import clock
from shared.data import campaigns, conversations, messages, promises, targets
from shared.domain.channel_health import BreakReason
from shared.domain.models import (
    CallDisposition,
    ConversationSource,
    ConversationStatus,
    Outcome,
    PromiseStatus,
    Sender,
    TargetState,
    UnlockStatus,
)
from shared.engine import short_calls, stats, whatsapp_channel
from tests.integration.api.conftest import GOOD_CSV, Api


def _imported(api: Api) -> tuple[dict[str, Any], list[Any]]:
    campaign = api.create_campaign()
    assert api.import_csv(campaign["id"], GOOD_CSV).json()["imported"] == 2
    return campaign, targets.list_for_campaign(campaign["id"]).items


def test_targets_list_masks_personal_data_and_filters_by_state_and_outcome(api: Api) -> None:
    campaign, stored = _imported(api)
    listed = api.get(f"/api/voice/campaigns/{campaign['id']}/targets").json()
    assert len(listed) == 2
    joao = next(t for t in listed if t["clientName"] == "João Silva")
    assert joao["clientDocument"] == "***.444.777-**"
    assert joao["phoneNumber"] == "5511*****8888"
    assert joao["debtAmount"] == "179.80"
    assert (joao["openAmount"], joao["openAmountAt"]) == (None, None)  # the CRM not read yet
    assert joao["state"] == "pending"
    targets.transition(
        stored[0].id,
        [TargetState.PENDING],
        TargetState.COMPLETED,
        outcome=Outcome.PAID,
        open_amount=Decimal("0"),
        open_amount_at=clock.now(),
    )
    route = f"/api/voice/campaigns/{campaign['id']}/targets"
    [paid] = api.get(route, params={"state": "completed"}).json()
    assert (paid["openAmount"], paid["openAmountAt"]) == ("0", "2025-03-10T12:00:00Z")
    assert [t["id"] for t in api.get(route, params={"state": "completed"}).json()] == [stored[0].id]
    assert [t["id"] for t in api.get(route, params={"outcome": "paid"}).json()] == [stored[0].id]
    assert api.get(route, params={"outcome": "no_answer"}).json() == []
    assert api.get(route, params={"state": "flying"}).status_code == 422


def test_targets_of_unknown_campaign_is_404(api: Api) -> None:
    assert api.get("/api/voice/campaigns/nope/targets").status_code == 404


def test_supervisor_corrects_a_target_and_reschedules_it(api: Api, clock: Any) -> None:
    _, stored = _imported(api)
    later = (clock.now() + timedelta(days=2)).isoformat()
    response = api.patch(
        f"/api/voice/targets/{stored[0].id}",
        role="supervisor",
        json={"clientName": "Nome Corrigido", "nextAttemptAt": later},
    )
    assert response.status_code == 200, response.text
    assert response.json()["clientName"] == "Nome Corrigido"
    assert targets.get(stored[0].id).next_attempt_at == clock.now() + timedelta(days=2)
    assert (
        api.patch(f"/api/voice/targets/{stored[0].id}", role="viewer", json={"clientName": "x"}).status_code
        == 403
    )
    assert (
        api.patch(
            f"/api/voice/targets/{stored[0].id}", role="supervisor", json={"state": "completed"}
        ).status_code
        == 422
    )
    assert (
        api.patch("/api/voice/targets/nope", role="supervisor", json={"clientName": "x"}).status_code == 404
    )


def test_a_supervisor_adds_a_phone_to_a_case_and_a_reimport_keeps_it(api: Api, clock: Any) -> None:
    campaign, stored = _imported(api)
    joao = next(target for target in stored if target.client_name == "João Silva")
    path = f"/api/voice/targets/{joao.id}/phones"

    added = api.post(path, role="supervisor", json={"phoneNumber": "(31) 98765-4321"})

    assert added.status_code == 200, added.text
    [addition] = added.json()["addedPhones"]
    assert addition["addedBy"] == "token:supervisor" and addition["addedAt"].startswith(
        clock.now().date().isoformat()
    )
    assert "98765" not in addition["phoneNumber"]  # masked like every phone the API shows
    assert api.post(path, role="supervisor", json={"phoneNumber": "(31) 98765-4321"}).status_code == 200
    assert targets.get(joao.id).phones.count("5531987654321") == 1  # idempotent
    assert api.post(path, role="viewer", json={"phoneNumber": "(31) 98765-4321"}).status_code == 403
    assert api.post(path, role="supervisor", json={"phoneNumber": "123"}).status_code == 422
    assert api.post(path, role="supervisor", json={}).status_code == 422
    missing = api.post(
        "/api/voice/targets/nope/phones", role="supervisor", json={"phoneNumber": "(31) 98765-4321"}
    )
    assert missing.status_code == 404
    more = GOOD_CSV.replace("FAT-001", "FAT-009")
    assert api.import_csv(campaign["id"], more).status_code == 200
    again = targets.get(joao.id)
    assert "5531987654321" in again.phones and len(again.invoices) == 2
    assert [a.added_by for a in again.added_phones] == ["token:supervisor"]


def _promise(make_promise: Any, target: Any, **kwargs: Any) -> Any:
    promise = promises.create(
        make_promise(document=target.document, target_id=target.id, campaign_id=target.campaign_id, **kwargs)
    )
    stats.count_promise(target.campaign_id, None, PromiseStatus.PENDING, amount=promise.amount)
    return promise


def test_promises_list_filter_get_and_mask(api: Api, make_promise: Any) -> None:
    _, stored = _imported(api)
    promise = _promise(make_promise, stored[0])
    listed = api.get("/api/voice/promises", params={"status": "pending"}).json()
    assert [p["id"] for p in listed] == [promise.id]
    assert listed[0]["contactDocument"] in ("***.444.777-**", "**.***.345/01DE-**")
    by_doc = api.get("/api/voice/promises", params={"contactDocument": stored[0].document}).json()
    assert [p["id"] for p in by_doc] == [promise.id]
    assert api.get("/api/voice/promises", params={"status": "fulfilled"}).json() == []
    assert api.get(f"/api/voice/promises/{promise.id}").json()["amount"] == str(promise.amount)
    assert listed[0]["unlockStatus"] is None and listed[0]["unlockUntil"] is None
    assert api.get("/api/voice/promises", params={"contactDocument": "123"}).status_code == 422
    assert api.get("/api/voice/promises/nope").status_code == 404


def test_supervisor_settles_a_promise_and_the_target_follows(api: Api, make_promise: Any) -> None:
    _, stored = _imported(api)
    target = targets.transition(
        stored[0].id, [TargetState.PENDING], TargetState.CONTACTED, outcome=Outcome.PROMISE_MADE
    )
    promise = _promise(make_promise, target)
    assert (
        api.patch(
            f"/api/voice/promises/{promise.id}", role="viewer", json={"status": "fulfilled"}
        ).status_code
        == 403
    )
    response = api.patch(
        f"/api/voice/promises/{promise.id}",
        role="supervisor",
        json={"status": "fulfilled", "notes": "pago no caixa"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "fulfilled"
    assert response.json()["notes"] == "pago no caixa"
    assert response.json()["fulfilledAt"] is not None
    # A supervisor's word is not the CRM's: the case waits the follow-up delay, then the guards ask it.
    after = targets.get(target.id)
    assert (after.state, after.outcome) == (TargetState.PENDING, None)  # open again for the cadence
    assert after.outcome_details is not None
    assert after.outcome_details.startswith("Promessa marcada como cumprida pela supervisão")
    assert after.next_attempt_at == clock.now() + timedelta(
        days=campaigns.get(target.campaign_id).follow_up_after_days
    )
    again = api.patch(f"/api/voice/promises/{promise.id}", role="supervisor", json={"status": "broken"})
    assert again.status_code == 409
    metrics = api.get("/api/voice/metrics").json()
    assert (metrics["pendingPromises"], metrics["fulfilledPromises"]) == (0, 1)


def test_a_broken_promise_sends_the_target_back_to_the_queue(api: Api, make_promise: Any) -> None:
    _, stored = _imported(api)
    target = targets.transition(
        stored[0].id, [TargetState.PENDING], TargetState.CONTACTED, outcome=Outcome.PROMISE_MADE
    )
    promise = _promise(make_promise, target)
    assert (
        api.patch(
            f"/api/voice/promises/{promise.id}", role="supervisor", json={"status": "broken"}
        ).status_code
        == 200
    )
    after = targets.get(target.id)
    assert (after.state, after.outcome) == (TargetState.PENDING, Outcome.PROMISE_BROKEN)


def test_renegotiated_is_a_supervisor_status(api: Api, make_promise: Any) -> None:
    _, stored = _imported(api)
    promise = _promise(make_promise, stored[0])
    response = api.patch(
        f"/api/voice/promises/{promise.id}", role="supervisor", json={"status": "renegotiated"}
    )
    assert response.json()["status"] == "renegotiated"
    assert (
        api.patch(
            f"/api/voice/promises/{promise.id}", role="supervisor", json={"status": "pending"}
        ).status_code
        == 409
    )


def test_conversations_filter_by_source_show_the_thread_and_hand_off(
    api: Api, make_conversation: Any, make_message: Any
) -> None:
    campaign_conv = conversations.create(make_conversation(source=ConversationSource.WHATSAPP_CAMPAIGN))
    conversations.create(
        make_conversation(
            source=ConversationSource.INBOUND, chat_id="whatsapp_5521988887777", phone="5521988887777"
        )
    )
    messages.append(make_message(conversation_id=campaign_conv.id, sender=Sender.ASSISTANT, content="Olá!"))
    messages.append(make_message(conversation_id=campaign_conv.id, sender=Sender.CUSTOMER, content="Oi"))
    assert len(api.get("/api/voice/conversations").json()) == 2
    listed = api.get("/api/voice/conversations", params={"source": "whatsapp_campaign"}).json()
    assert [c["id"] for c in listed] == [campaign_conv.id]
    assert (listed[0]["conversationSource"], listed[0]["channel"]) == ("whatsapp_campaign", "whatsapp")
    assert "*" in listed[0]["phoneNumber"]
    detail = api.get(f"/api/voice/conversations/{campaign_conv.id}").json()
    assert [m["content"] for m in detail["messages"]] == ["Olá!", "Oi"]
    assert api.post(f"/api/voice/conversations/{campaign_conv.id}/transfer", role="viewer").status_code == 403
    moved = api.post(f"/api/voice/conversations/{campaign_conv.id}/transfer", role="supervisor").json()
    assert moved["status"] == "transferred"
    assert conversations.get(campaign_conv.id).status is ConversationStatus.TRANSFERRED
    transferred = api.get("/api/voice/conversations", params={"status": "transferred"}).json()
    assert [c["id"] for c in transferred] == [campaign_conv.id]
    back = api.post(f"/api/voice/conversations/{campaign_conv.id}/release", role="supervisor").json()
    assert back["status"] == "ai"
    thread = api.get(f"/api/voice/conversations/{campaign_conv.id}").json()["messages"]
    assert [m["sender"] for m in thread][-2:] == ["system", "system"]
    assert api.get("/api/voice/conversations", params={"source": "sms"}).status_code == 422


def test_a_recorded_call_shows_its_recording_summary_and_disposition(
    api: Api, make_conversation: Any
) -> None:
    call = conversations.create(
        make_conversation(
            source=ConversationSource.VOICE_CAMPAIGN, chat_id="voice_CA" + "a" * 32, call_sid="CA" + "a" * 32
        )
    )
    plain = api.get(f"/api/voice/conversations/{call.id}", role="viewer").json()
    assert (plain["recordingSid"], plain["callSummary"], plain["callDisposition"]) == (None, None, None)
    assert plain["channel"] == "voice"  # the dashboard shows its thread as the call's transcript
    conversations.update(
        call.id,
        recording_sid="RE" + "b" * 32,
        recording_seconds=125,
        call_summary="Chamada de 2 min 05 s. Sem acordo nesta chamada.",
        call_disposition=CallDisposition.NO_AGREEMENT,
    )

    detail = api.get(f"/api/voice/conversations/{call.id}", role="viewer").json()

    assert (detail["recordingSid"], detail["recordingSeconds"]) == ("RE" + "b" * 32, 125)
    assert detail["callSummary"] == "Chamada de 2 min 05 s. Sem acordo nesta chamada."
    assert detail["callDisposition"] == "no_agreement"
    [listed] = api.get("/api/voice/conversations", params={"source": "voice_campaign"}).json()
    assert listed["callDisposition"] == "no_agreement"


def test_optouts_are_normalized_masked_and_idempotent(api: Api) -> None:
    response = api.post(
        "/api/voice/optouts",
        role="supervisor",
        json={
            "phoneNumber": "+55 (11) 99999-8888",
            "clientDocument": "111.444.777-35",
            "reason": "pediu por e-mail",
        },
    )
    assert response.status_code == 201, response.text
    assert {(o["key"], o["value"]) for o in response.json()} == {
        ("phone", "5511*****8888"),
        ("document", "***.444.777-**"),
    }
    again = api.post("/api/voice/optouts", role="supervisor", json={"phoneNumber": "11999998888"})
    assert again.status_code == 201
    assert len(api.get("/api/voice/optouts").json()) == 2
    from shared.engine.optouts import is_opted_out

    assert is_opted_out("5511999998888", None) and is_opted_out(None, "11144477735")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phoneNumber": "123"},
        {"clientDocument": "111.444.777-36"},
        {"phoneNumber": "11999998888", "x": 1},
    ],
)
def test_bad_optouts_are_422(api: Api, body: dict[str, Any]) -> None:
    assert api.post("/api/voice/optouts", role="supervisor", json=body).status_code == 422


def test_stats_report_the_funnel_and_kpis_from_counters(api: Api, make_promise: Any) -> None:
    campaign, stored = _imported(api)
    cid = campaign["id"]
    for target in stored:
        targets.record_contact(target)  # the first contact counts the case as reached
    targets.record_contact(targets.get(stored[0].id))  # counted once
    stats.record_milestone(stored[0].id, stats.Milestone.RESPONDED)
    stats.record_milestone(stored[0].id, stats.Milestone.PROMISED)
    stats.count_outreach(cid, "whatsapp")  # type: ignore[arg-type]
    targets.transition(stored[0].id, [TargetState.PENDING], TargetState.COMPLETED, outcome=Outcome.PAID)
    body = api.get(f"/api/voice/campaigns/{cid}/stats").json()
    assert (body["totalTargets"], body["pending"], body["completed"]) == (2, 1, 1)
    assert (body["reached"], body["responded"], body["promised"], body["paid"]) == (2, 1, 1, 1)
    assert body["selfCured"] == 0
    assert body["outcomes"]["paid"] == 1
    assert body["channels"] == {"whatsapp": 1, "voice": 0}
    kpis = {k["name"]: k for k in body["kpis"]}
    assert kpis["contactRate"]["value"] == "100.0" and kpis["contactRate"]["met"] is True
    assert kpis["responseRate"]["value"] == "50.0" and kpis["responseRate"]["met"] is False
    assert kpis["conversionRate"]["value"] == "50.0" and kpis["conversionRate"]["goal"] == "40"
    assert api.get("/api/voice/campaigns/nope/stats").status_code == 404


def test_metrics_cards(api: Api) -> None:
    campaign, stored = _imported(api)
    stats.count_outreach(campaign["id"], "whatsapp")  # type: ignore[arg-type]
    stats.count_outreach(campaign["id"], "whatsapp")  # type: ignore[arg-type]
    stats.count_outreach(campaign["id"], "voice")  # type: ignore[arg-type]
    for target in stored:
        targets.record_contact(target)  # the first contact counts the case as reached
    targets.transition(stored[0].id, [TargetState.PENDING], TargetState.COMPLETED, outcome=Outcome.PAID)
    body = api.get("/api/voice/metrics").json()
    assert body["selfCured"] == 0
    assert body["totalCalls"] == 1
    assert body["totalWhatsAppMessages"] == 2
    assert body["totalContacts"] == 3
    assert body["conversionRate"] == "50.0"
    assert body["breakdown"]["whatsapp"] == {"count": 2, "percentage": "66.7"}
    assert body["breakdown"]["voice"] == {"count": 1, "percentage": "33.3"}
    assert (body["shortCallsToday"], body["shortCallShareToday"], body["dialingSlowed"]) == (0, "0.0", False)


def test_metrics_show_todays_short_calls_and_the_slowed_dialing(api: Api) -> None:
    for index, seconds in enumerate([2, 5, 3, 40] * 5):  # 15 of 20 calls last 6 s or less
        short_calls.count_call(f"CA{index:032d}", seconds, clock.now())

    body = api.get("/api/voice/metrics").json()

    assert (body["shortCallsToday"], body["shortCallShareToday"], body["dialingSlowed"]) == (15, "75.0", True)


def test_debug_queues_report_depths(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from shared.core.config import reset_settings

    for name in ("whatsapp", "dialer", "post_call", "promise_monitor"):
        url = boto3.client("sqs").create_queue(QueueName=name)["QueueUrl"]
        monkeypatch.setenv(f"{name.upper()}_QUEUE_URL", url)
    url = boto3.client("sqs").create_queue(QueueName="inbound.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    monkeypatch.setenv("INBOUND_QUEUE_URL", url)
    reset_settings()
    campaign = api.create_campaign()
    api.post(f"/api/voice/campaigns/{campaign['id']}/activate", role="supervisor")
    body = api.get("/api/debug/queues").json()
    assert body["scheduler"]["visible"] == 1
    assert set(body) == {"scheduler", "whatsapp", "dialer", "post_call", "inbound", "promise_monitor"}


def test_a_promise_shows_its_trust_unlock_outcome(api: Api, make_promise: Any) -> None:
    _, stored = _imported(api)
    promise = _promise(
        make_promise,
        stored[0],
        unlock_status=UnlockStatus.REFUSED,
        unlock_code="113",
        unlock_reason="O desbloqueio em confiança já foi usado neste ciclo.",
    )

    shown = api.get(f"/api/voice/promises/{promise.id}").json()

    assert shown["unlockStatus"] == "refused" and shown["unlockCode"] == "113"
    assert shown["unlockReason"].startswith("O desbloqueio em confiança") and shown["unlockUntil"] is None


def test_the_whatsapp_channel_s_block_reaches_the_dashboard_with_its_reason(api: Api) -> None:
    assert api.get("/api/voice/metrics").json()["whatsappChannel"]["blocked"] is False

    assert whatsapp_channel.trip(BreakReason.DISCONNECTED)

    shown = api.get("/api/voice/channels/whatsapp").json()
    assert shown["blocked"] is True and shown["reason"] == "disconnected"
    assert shown["since"] == clock.now().isoformat().replace("+00:00", "Z")
    assert shown["message"] == api.get("/api/voice/metrics").json()["whatsappChannel"]["message"]
    assert "WhatsApp" in shown["message"] and "pausados" in shown["message"]
