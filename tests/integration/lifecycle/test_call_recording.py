"""Recorded calls (campaigns with `record_calls`): the dialer asks Twilio to record and to post the
recording's status back; that signed callback keeps the RecordingSid on the call's conversation; the
call's `completed` stores a summary and a disposition read from what its tools stored. Off: none of it.
Calls go through the Twilio REST simulator; callbacks carry its signature, over the public URL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from infra.local.simulators.twilio import SimCall, signature_for
from shared.adapters.twilio_voice import RECORDING_PATH
from shared.data import conversations
from shared.domain.models import CallDisposition, Conversation, ConversationSource, PaymentMethod, Target
from shared.engine import handoff, optouts, promises
from tests.integration.lifecycle.lifecycle_world import TWILIO_TOKEN, WEBHOOK_BASE, Lifecycle, failed_ids

RECORDING_URL = WEBHOOK_BASE + RECORDING_PATH


@pytest.fixture
def api(world: Lifecycle) -> Iterator[TestClient]:
    from functions.api.app import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def answered(
    world: Lifecycle, make_conversation: Callable[..., Conversation]
) -> Callable[..., tuple[Target, SimCall, Conversation]]:
    """A call of a campaign (recorded or not) placed through the simulator, whose stream reached the
    assistant: its voice conversation exists."""

    def place(*, record_calls: bool) -> tuple[Target, SimCall, Conversation]:
        target = world.target(world.campaign(record_calls=record_calls))
        call = world.dial(target)
        world.status(call, "in-progress")
        conversation = conversations.create(
            make_conversation(
                chat_id=f"voice_{call.sid}",
                phone=target.phone,
                document=target.document,
                target_id=target.id,
                campaign_id=target.campaign_id,
                call_sid=call.sid,
                source=ConversationSource.VOICE_CAMPAIGN,
            )
        )
        return target, call, conversation

    return place


def _post_recording(api: TestClient, params: dict[str, str], *, token: str = TWILIO_TOKEN) -> int:
    headers = {"X-Twilio-Signature": signature_for(RECORDING_URL, params, token)}
    return api.post(RECORDING_PATH, data=params, headers=headers).status_code


def _promise(world: Lifecycle, target: Target, conversation: Conversation) -> None:
    """What `registrar_promessa_pagamento` stores mid-call."""
    promises.register(
        document=target.document,
        amount=Decimal("179.80"),
        day=world.clock.now().date() + timedelta(days=5),
        open_total=Decimal("179.80"),
        tz=ZoneInfo("America/Sao_Paulo"),
        payment_method=PaymentMethod.PIX,
        target_id=target.id,
        campaign_id=target.campaign_id,
        conversation_id=conversation.id,
    )


# --- dialing -------------------------------------------------------------------------------------------


def test_a_recording_campaign_asks_twilio_to_record_and_to_post_the_recording_status(
    world: Lifecycle,
) -> None:
    call = world.dial(world.target(world.campaign(record_calls=True)))

    assert call.params["Record"] == ["true"]
    assert call.params["RecordingStatusCallback"] == [RECORDING_URL]
    assert call.params["RecordingStatusCallbackMethod"] == ["POST"]
    assert call.params["RecordingStatusCallbackEvent"] == ["completed"]
    assert call.params["RecordingChannels"] == ["dual"]


def test_a_campaign_without_recording_sends_no_recording_parameter(world: Lifecycle) -> None:
    call = world.dial(world.target(world.campaign()))

    assert not any(name.startswith("Record") for name in call.params)


# --- the recording-status callback ----------------------------------------------------------------------


def test_the_signed_recording_callback_keeps_the_recording_sid_on_the_conversation(
    world: Lifecycle, api: TestClient, answered: Callable[..., tuple[Target, SimCall, Conversation]]
) -> None:
    _, call, conversation = answered(record_calls=True)
    params = world.twilio.recording_params(call, duration=125)

    assert _post_recording(api, params) == 204

    stored = conversations.get(conversation.id)
    assert stored.recording_sid == params["RecordingSid"] and stored.recording_sid.startswith("RE")
    assert stored.recording_seconds == 125


@pytest.mark.parametrize("signature", ["missing", "forged", "internal-url"])
def test_an_unsigned_or_badly_signed_recording_callback_is_refused(
    world: Lifecycle,
    api: TestClient,
    answered: Callable[..., tuple[Target, SimCall, Conversation]],
    signature: str,
) -> None:
    _, call, conversation = answered(record_calls=True)
    params = world.twilio.recording_params(call, duration=60)
    headers = {
        "missing": {},
        "forged": {"X-Twilio-Signature": signature_for(RECORDING_URL, params, "not-the-auth-token")},
        "internal-url": {
            "X-Twilio-Signature": signature_for(f"http://testserver{RECORDING_PATH}", params, TWILIO_TOKEN)
        },
    }[signature]

    response = api.post(RECORDING_PATH, data=params, headers=headers)

    assert response.status_code == 403
    assert conversations.get(conversation.id).recording_sid is None


@pytest.mark.parametrize(
    ("change", "field"),
    [({"RecordingSid": "not-a-sid"}, "RecordingSid"), ({"RecordingDuration": "-3"}, "RecordingDuration")],
)
def test_a_signed_form_that_is_not_a_recording_callback_is_a_precise_4xx(
    world: Lifecycle,
    api: TestClient,
    answered: Callable[..., tuple[Target, SimCall, Conversation]],
    change: dict[str, str],
    field: str,
) -> None:
    _, call, conversation = answered(record_calls=True)
    params = world.twilio.recording_params(call, duration=60) | change
    headers = {"X-Twilio-Signature": signature_for(RECORDING_URL, params, TWILIO_TOKEN)}

    response = api.post(RECORDING_PATH, data=params, headers=headers)

    assert response.status_code == 422
    assert field in response.json()["detail"]
    assert conversations.get(conversation.id).recording_sid is None


def test_a_recording_that_did_not_finish_or_has_no_conversation_keeps_nothing(
    world: Lifecycle, api: TestClient, answered: Callable[..., tuple[Target, SimCall, Conversation]]
) -> None:
    _, call, conversation = answered(record_calls=True)
    absent = world.twilio.recording_params(call, duration=0, status="absent")
    machine_call = world.dial(world.target(world.campaign(record_calls=True), document="11144477735"))

    assert _post_recording(api, absent) == 204
    assert _post_recording(api, world.twilio.recording_params(machine_call, duration=9)) == 204

    assert conversations.get(conversation.id).recording_sid is None


# --- summary and disposition ------------------------------------------------------------------------------


def test_a_call_with_a_promise_is_summarized_as_promise_made_when_it_completes(
    world: Lifecycle, answered: Callable[..., tuple[Target, SimCall, Conversation]]
) -> None:
    target, call, conversation = answered(record_calls=True)
    _promise(world, target, conversation)

    assert failed_ids(world.status(call, "completed", duration=125)) == []

    stored = conversations.get(conversation.id)
    assert stored.call_disposition is CallDisposition.PROMISE_MADE
    assert stored.call_summary == (
        "Chamada de 2 min 05 s. Promessa de pagamento: R$ 179,80 até 15/03/2025 via Pix."
    )
    world.status(call, "completed", duration=125)  # redelivered: the same records, the same text
    assert conversations.get(conversation.id).call_summary == stored.call_summary


def test_a_transferred_call_and_an_opted_out_call_say_so(
    world: Lifecycle, answered: Callable[..., tuple[Target, SimCall, Conversation]]
) -> None:
    _, transferred_call, transferred = answered(record_calls=True)
    handoff.transfer(transferred.id, by="assistant", reason="cliente pediu um atendente")
    world.status(transferred_call, "completed", duration=40)
    world.clock.advance(timedelta(minutes=5))
    opting, opting_call, opted = answered(record_calls=True)
    optouts.opt_out(phone=opting.phone, document=None, reason="não quer ligações", source="assistant")
    world.status(opting_call, "completed", duration=20)

    after_transfer = conversations.get(transferred.id)
    assert after_transfer.call_disposition is CallDisposition.TRANSFERRED
    assert "Transferida para um atendente humano (cliente pediu um atendente)." in (
        after_transfer.call_summary or ""
    )
    after_opt_out = conversations.get(opted.id)
    assert after_opt_out.call_disposition is CallDisposition.OPTED_OUT
    assert after_opt_out.call_summary == (
        "Chamada de 20 s. O cliente pediu para não receber mais contatos de cobrança."
    )


def test_a_call_that_stored_nothing_is_no_agreement(
    world: Lifecycle, answered: Callable[..., tuple[Target, SimCall, Conversation]]
) -> None:
    _, call, conversation = answered(record_calls=True)

    world.status(call, "completed", duration=61)

    stored = conversations.get(conversation.id)
    assert stored.call_disposition is CallDisposition.NO_AGREEMENT
    assert stored.call_summary == "Chamada de 1 min 01 s. Sem acordo nesta chamada."


def test_without_recording_no_summary_is_written_even_after_a_promise(
    world: Lifecycle, answered: Callable[..., tuple[Target, SimCall, Conversation]]
) -> None:
    target, call, conversation = answered(record_calls=False)
    _promise(world, target, conversation)

    world.status(call, "completed", duration=125)

    stored = conversations.get(conversation.id)
    assert (stored.call_summary, stored.call_disposition, stored.recording_sid) == (None, None, None)


def test_a_machine_answered_call_gets_no_summary(
    world: Lifecycle, answered: Callable[..., tuple[Target, SimCall, Conversation]]
) -> None:
    _, call, conversation = answered(record_calls=True)

    world.status(call, "completed", duration=12, answered_by="machine_end_silence")

    assert conversations.get(conversation.id).call_summary is None
