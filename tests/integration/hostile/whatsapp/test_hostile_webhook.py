"""Hostile webhooks (issue 14, findings 2, 6, 7): Evolution's endpoint never parses a stranger's body,
never answers 5xx to a malformed, oversized or deeply nested one, bounds what it queues (a 1 MB text
or push name is cut, never a failed enqueue that Evolution would retry ten times), and a replayed
message is answered once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.api.routes.whatsapp_webhook import MAX_BODY_BYTES
from infra.local.simulators.evolution import messages_upsert
from shared.core.jobs import MAX_INBOUND_TEXT_CHARS
from shared.domain.names import MAX_DISPLAY_NAME_CHARS
from tests.integration.assistant.assistant_world import INSTANCE, JID, PHONE, WEBHOOK, WEBHOOK_TOKEN, World

DEEP = b"[" * 1000 + b"]" * 1000
HOSTILE_BODIES = {
    "nested-1000": DEEP,
    "nested-100k": b"[" * 100_000,
    "nested-objects": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "not-json": b"{not json",
    "not-utf8": b"\xff\xfe\x00",
    "empty": b"",
    "null": b"null",
    "huge-number": b"1" + b"0" * 5000,
    "apikey-only": b'{"apikey": "guess"}',
}


def post_raw(world: World, body: bytes, token: str | None) -> Any:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    return world.api.post(WEBHOOK, content=body, headers=headers)


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_stranger_gets_401_whatever_the_body(world: World, body: bytes) -> None:
    for token in (None, "not-the-token"):
        response = post_raw(world, body, token)
        assert response.status_code == 401, response.text
    assert world.receive() == []


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_evolution_gets_a_4xx_for_a_hostile_body(world: World, body: bytes) -> None:
    response = post_raw(world, body, WEBHOOK_TOKEN)
    assert 400 <= response.status_code < 500, response.text
    assert world.receive() == []


def test_a_deeply_nested_body_is_a_400_saying_so(world: World) -> None:
    response = post_raw(world, b"[" * 100_000, WEBHOOK_TOKEN)
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON body nested too deeply"}


def test_the_apikey_in_the_body_authenticates_without_a_header(world: World) -> None:
    envelope = messages_upsert(instance=INSTANCE, remote_jid=JID, text="Olá", api_key=WEBHOOK_TOKEN)
    envelope["apikey"] = WEBHOOK_TOKEN
    assert post_raw(world, json.dumps(envelope).encode(), None).json() == {"queued": True}


@pytest.mark.parametrize("token", [None, WEBHOOK_TOKEN], ids=["stranger", "evolution"])
def test_an_oversized_body_is_413_before_it_is_read_whole(world: World, token: str | None) -> None:
    body = b'{"event": "messages.upsert", "data": {"x": "' + b"a" * MAX_BODY_BYTES + b'"}}'
    response = post_raw(world, body, token)
    assert response.status_code == 413, response.text
    assert world.receive() == []


def test_a_1mb_text_is_queued_cut_to_the_bound(world: World) -> None:
    envelope = messages_upsert(instance=INSTANCE, remote_jid=JID, text="quero pagar " + "x" * 1_000_000)
    response = world.post(envelope)
    assert response.status_code == 200, response.text
    assert response.json() == {"queued": True}
    [queued] = world.receive()
    body = json.loads(queued["Body"])
    assert len(body["text"]) == MAX_INBOUND_TEXT_CHARS and body["text"].endswith("…")


def test_a_200kb_push_name_is_queued_bounded_and_never_echoed(world: World) -> None:
    envelope = messages_upsert(instance=INSTANCE, remote_jid=JID, text="Olá", push_name="P" * 200_000)
    assert world.post(envelope).json() == {"queued": True}
    [queued] = world.receive()
    assert len(json.loads(queued["Body"])["pushName"]) == MAX_DISPLAY_NAME_CHARS
    world.sqs.change_message_visibility(
        QueueUrl=world.queue_url, ReceiptHandle=queued["ReceiptHandle"], VisibilityTimeout=0
    )
    assert world.drain() == []
    replies = world.evolution.texts_to(PHONE)
    assert replies, "the customer got no answer"
    assert all(len(reply) < 2000 and "P" * (MAX_DISPLAY_NAME_CHARS + 1) not in reply for reply in replies)


def test_a_1mb_push_name_with_control_characters_never_fails_the_enqueue(world: World) -> None:
    envelope = messages_upsert(
        instance=INSTANCE, remote_jid=JID, text="Olá", push_name="\u202e\x00\n" * 100_000
    )
    response = world.post(envelope)
    assert response.status_code == 200, response.text
    [queued] = world.receive()
    assert json.loads(queued["Body"])["pushName"] is None


def test_a_replayed_message_is_queued_once_and_answered_once(world: World) -> None:
    envelope = messages_upsert(instance=INSTANCE, remote_jid=JID, text="Olá", message_id="3EB0REPLAY01")
    assert world.post(envelope).json() == {"queued": True}
    for _ in range(3):  # Evolution retries, or an attacker replays what they captured
        assert world.post(envelope).json() == {"ignored": "duplicate"}
    assert world.drain() == []
    assert len(world.evolution.texts_to(PHONE)) == 1
