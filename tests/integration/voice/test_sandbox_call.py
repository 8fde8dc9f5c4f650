"""A sandbox call end to end over the real wires: the Twilio simulator fetches the answered call's TwiML
from the API (signed), the API tells the bridge to prepare the call, the simulator opens the Media
Stream to the bridge and a simulated customer talks on it; the Realtime simulator answers as Lia, its
words and tools from the fallback dialogue, the tools run by the bridge."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest

from functions.api.app import create_app
from infra.local.simulators import server as sim_server
from infra.local.simulators.realtime import RealtimeSimulator
from shared.adapters.twilio_voice import TWIML_PATH
from shared.assistant import texts
from shared.core.config import reset_settings
from shared.data import conversations, messages, promises
from shared.data import targets as targets_data
from shared.domain.models import Channel, Outcome, Sender
from tests.integration.voice.conftest import DOCUMENT, OPENAI_KEY, VoiceWorld

SAYS_WHO = "Alô, sou eu sim. Meu CPF é 529.982.247-25."
PROMISES = "Consigo pagar no dia 14/03."


@pytest.fixture
def realtime() -> Iterator[RealtimeSimulator]:
    simulator = RealtimeSimulator(api_key=OPENAI_KEY).start()
    yield simulator
    simulator.stop()


def test_a_sandbox_call_plays_end_to_end_and_its_promise_is_stored_with_the_transcript(
    voice: VoiceWorld, realtime: RealtimeSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    bridge = voice.make_bridge()
    api = sim_server.serve_in_thread(create_app())
    try:
        for name, value in {
            "OPENAI_REALTIME_URL": realtime.url,
            "WEBHOOK_BASE_URL": api.url,
            "VOICE_BRIDGE_WS_URL": bridge.ws_url,
            "VOICE_BRIDGE_PREPARE_URL": bridge.url + "/prepare",
        }.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        # The call the dialer placed, its TwiML served by this test's API.
        call = dataclasses.replace(
            voice.twilio.calls[voice.call_sid], url=api.url + TWIML_PATH.format(target_id=voice.target.id)
        )
        lines = iter([SAYS_WHO, PROMISES])

        streamed = voice.twilio.converse(call, lambda heard: next(lines, None))

        asyncio.run(voice.settled(within=5))
    finally:
        api.stop()

    assert realtime.errors == []
    assert realtime.sessions == 1
    greeting, quote, confirmation = streamed.heard
    assert greeting == texts.greeting("Maria Silva")
    assert "179,80" in quote
    assert "14/03" in confirmation
    assert streamed.said == [SAYS_WHO, PROMISES]
    assert streamed.seconds > 6  # as long as the words take to say: not a "short call"
    [stored] = promises.active_for_document(DOCUMENT, voice.clock.now())
    assert str(stored.amount) == "179.80" and stored.due_date.isoformat() == "2025-03-14"
    assert stored.target_id == voice.target.id
    assert targets_data.get(voice.target.id).outcome is Outcome.PROMISE_MADE
    # The call's transcript, both sides in conversation order, is on the call's conversation.
    conversation = conversations.by_chat_id(f"voice_{voice.call_sid}")
    assert conversation is not None and conversation.identity_confirmed
    stored_lines = [(m.sender, m.content) for m in messages.list_for(conversation.id)]
    assert stored_lines == [
        (Sender.ASSISTANT, greeting),
        (Sender.CUSTOMER, f"Alô, sou eu sim. Meu CPF é {DOCUMENT}."),  # the document's digits as digits
        (Sender.ASSISTANT, quote),
        (Sender.CUSTOMER, PROMISES),
        (Sender.ASSISTANT, confirmation),
    ]
    assert all(m.channel is Channel.VOICE for m in messages.list_for(conversation.id))
    assert voice.twilio.hangups == []  # the customer hung up
