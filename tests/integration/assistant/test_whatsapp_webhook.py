"""`POST /api/whatsapp/webhook`: authentication, malformed payloads (4xx, never 5xx), what is ignored,
what is queued (FIFO, one group per chat), and delivery receipts."""

from __future__ import annotations

import json

import pytest

from infra.local.simulators.evolution import messages_upsert
from shared.engine import whatsapp_channel
from tests.integration.assistant.assistant_world import INSTANCE, JID, PHONE, WEBHOOK, WEBHOOK_TOKEN, World


def upsert(**overrides):
    return (
        messages_upsert(instance=INSTANCE, remote_jid=JID, text="Olá", message_id="3EB0C0FFEE01") | overrides
    )


def test_a_missing_or_wrong_token_is_401_and_nothing_is_queued(world: World):
    assert world.post(upsert(), token=None).status_code == 401
    assert world.post(upsert(), token="not-the-token").status_code == 401
    assert world.post(upsert(apikey="not-the-token"), token=None).status_code == 401
    response = world.api.post(WEBHOOK, json=upsert(), headers={"Authorization": f"Basic {WEBHOOK_TOKEN}"})
    assert response.status_code == 401
    assert world.receive() == []


def test_the_token_is_accepted_in_the_header_or_as_the_body_apikey(world: World):
    assert world.post(upsert(), token=WEBHOOK_TOKEN).json() == {"queued": True}
    second = upsert(apikey=WEBHOOK_TOKEN)
    second["data"]["key"]["id"] = "3EB0C0FFEE02"
    assert world.post(second, token=None).json() == {"queued": True}
    assert len(world.receive()) == 2


def test_without_a_configured_token_the_webhook_refuses_everything_with_a_clear_500(
    world: World, monkeypatch
):
    from shared.core.config import reset_settings

    monkeypatch.delenv("EVOLUTION_WEBHOOK_TOKEN")
    reset_settings()

    response = world.post(upsert())

    assert response.status_code == 500
    assert response.json() == {"detail": "the webhook is not configured: EVOLUTION_WEBHOOK_TOKEN is missing"}


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"{not json", 400, "malformed JSON body"),
        (b"\xff\xfe", 400, "malformed JSON body"),
        (b"[1, 2]", 422, "body"),
        (json.dumps({"event": "messages.upsert"}).encode(), 422, "data"),
        (
            json.dumps({"event": "messages.upsert", "data": {"key": {"fromMe": False}}}).encode(),
            422,
            "remoteJid",
        ),
        (
            json.dumps(
                {"event": "messages.upsert", "data": {"key": {"remoteJid": JID, "id": "a b"}}}
            ).encode(),
            422,
            "id",
        ),
        (json.dumps({"event": "messages.update", "data": {"status": "READ"}}).encode(), 422, "keyId"),
    ],
    ids=["bad-json", "not-utf8", "not-an-object", "no-data", "no-jid", "bad-id", "receipt-without-key"],
)
def test_malformed_payloads_are_4xx_with_a_precise_detail(world: World, body, status, detail):
    response = world.api.post(
        WEBHOOK,
        content=body,
        headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"},
    )

    assert response.status_code == status, response.text
    assert detail in json.dumps(response.json()["detail"])
    assert world.receive() == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"key": {"remoteJid": JID, "fromMe": True, "id": "X1"}}, "from_me"),
        ({"key": {"remoteJid": "120363025246125486@g.us", "fromMe": False, "id": "X2"}}, "group"),
        ({"key": {"remoteJid": "status@broadcast", "fromMe": False, "id": "X3"}}, "broadcast"),
        (
            {"key": {"remoteJid": "14155552671@s.whatsapp.net", "fromMe": False, "id": "X4"}},
            "unsupported_number",
        ),
    ],
    ids=["from-me", "group", "broadcast", "foreign-number"],
)
def test_messages_we_do_not_answer_are_acknowledged_and_ignored(world: World, overrides, reason):
    envelope = upsert()
    envelope["data"] |= overrides

    response = world.post(envelope)

    assert response.status_code == 200 and response.json() == {"ignored": reason}
    assert world.receive() == []


def test_other_events_are_acknowledged_and_ignored(world: World):
    envelope = {"event": "qrcode.updated", "instance": INSTANCE, "data": {"qrcode": {"code": "2@x"}}}
    assert world.post(envelope).json() == {"ignored": "unhandled_event"}


def test_connection_close_of_our_instance_blocks_whatsapp_and_another_instance_is_ignored(world: World):
    other = {"event": "connection.update", "instance": "someone-else", "data": {"state": "close"}}
    assert world.post(other).json() == {"ignored": "other_instance"}
    assert not whatsapp_channel.is_blocked()

    ours = {
        "event": "CONNECTION_UPDATE",
        "instance": INSTANCE,
        "data": {"state": "close", "statusReason": 428},
    }
    assert world.post(ours).json() == {"blocked": True}
    assert whatsapp_channel.health().message is not None


def test_a_connection_update_with_an_unknown_state_is_422(world: World):
    envelope = {"event": "connection.update", "instance": INSTANCE, "data": {"state": "exploded"}}
    response = world.post(envelope)
    assert response.status_code == 422 and "state" in response.text


def test_a_text_message_is_queued_for_its_chat_with_the_message_id_as_dedup_id(world: World):
    envelope = messages_upsert(
        instance=INSTANCE, remote_jid="553198296801@s.whatsapp.net", text="  bom dia  ", extended=True
    )

    assert world.post(envelope).json() == {"queued": True}

    [queued] = world.receive()
    assert queued["Attributes"]["MessageGroupId"] == "5531998296801"  # canonical, ninth digit restored
    assert queued["Attributes"]["MessageDeduplicationId"] == envelope["data"]["key"]["id"]
    body = json.loads(queued["Body"])
    assert body["text"] == "bom dia" and body["phone"] == "5531998296801"
    assert body["remoteJid"] == "553198296801@s.whatsapp.net" and body["pushName"] == "Cliente"


def test_a_media_message_is_queued_without_text(world: World):
    world.post(messages_upsert(instance=INSTANCE, remote_jid=JID, text=None))
    [queued] = world.receive()
    body = json.loads(queued["Body"])
    assert body["text"] is None and body["messageType"] == "imageMessage" and body["phone"] == PHONE


def test_a_privacy_lid_is_answered_through_its_phone_jid(world: World):
    envelope = upsert()
    envelope["data"]["key"] = {
        "remoteJid": "123456789012345@lid",
        "remoteJidAlt": JID,
        "fromMe": False,
        "id": "3EB0LID",
    }
    assert world.post(envelope).json() == {"queued": True}
    assert json.loads(world.receive()[0]["Body"])["remoteJid"] == JID


def test_an_unknown_receipt_status_is_ignored(world: World):
    envelope = {
        "event": "messages.update",
        "instance": INSTANCE,
        "data": {"keyId": "ABC", "remoteJid": JID, "status": "PENDING"},
    }
    assert world.post(envelope).json() == {"ignored": "unhandled_status"}
