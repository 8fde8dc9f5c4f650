"""A call of a campaign that records its calls, through the real bridge: Lia's greeting says the call
may be recorded (and only then), and the promise she registers becomes the call's summary and
disposition once Twilio reports the call completed (the post-call worker)."""

from __future__ import annotations

import asyncio

import pytest

from shared.core import clock
from shared.core.jobs import CallStatusEvent
from shared.data import campaigns as campaigns_data
from shared.data import conversations
from shared.domain.models import CallDisposition, Campaign, ContactMethod
from shared.engine import postcall
from tests.integration.voice.conftest import DOCUMENT, FakeRealtime, RealtimePeer, TwilioStream, VoiceWorld

NOTICE = "esta ligação pode ser gravada"


def _campaign(voice: VoiceWorld, *, record_calls: bool) -> None:
    """The target's campaign (`C-VOZ`), recording its calls or not."""
    now = clock.now()
    campaigns_data.create(
        Campaign(
            id=voice.target.campaign_id,
            name="Voz",
            contact_method=ContactMethod.VOICE,
            record_calls=record_calls,
            created_at=now,
            updated_at=now,
        )
    )


async def _greeting(voice: VoiceWorld, realtime: FakeRealtime) -> tuple[TwilioStream, RealtimePeer, str]:
    twilio = await voice.call(voice.make_bridge())
    peer = await realtime.peer()
    await peer.ready()
    await peer.expect("response.create")
    update = next(e for e in peer.received if e["type"] == "session.update")["session"]
    return twilio, peer, update["instructions"]


async def _hang_up(voice: VoiceWorld, twilio: TwilioStream, peer: RealtimePeer) -> None:
    await twilio.stop()
    async with asyncio.timeout(2):
        await peer.ws.wait_closed()
    await voice.settled()


@pytest.mark.parametrize("record_calls", [True, False])
def test_the_greeting_says_the_call_may_be_recorded_only_when_it_is(
    voice: VoiceWorld, record_calls: bool
) -> None:
    _campaign(voice, record_calls=record_calls)

    async def scenario() -> str:
        async with FakeRealtime() as realtime:
            twilio, peer, instructions = await _greeting(voice, realtime)
            await _hang_up(voice, twilio, peer)
        return instructions

    instructions = asyncio.run(scenario())

    greeting = next(line for line in instructions.splitlines() if line.startswith("- Você fala primeiro."))
    assert (NOTICE in greeting) is record_calls
    assert ("gravada" in instructions) is record_calls


def test_a_promise_made_on_a_recorded_call_is_its_summary_once_the_call_completes(voice: VoiceWorld) -> None:
    _campaign(voice, record_calls=True)

    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer, _ = await _greeting(voice, realtime)
            await peer.customer_said("item_u1", "Sou eu. Meu CPF é 529.982.247-25. Pago sexta, via Pix.")
            await peer.function_call(
                "resp_2",
                "call_1",
                "registrar_promessa_pagamento",
                {
                    "cpf_cnpj": DOCUMENT,
                    "data_prevista_pagamento": "14/03/2025",
                    "valor_prometido": 179.80,
                    "metodo_pagamento": "pix",
                    "observacoes": None,
                },
            )
            assert (await peer.tool_output("call_1"))["sucesso"] is True
            await peer.expect("response.create")
            await _hang_up(voice, twilio, peer)

    asyncio.run(scenario())
    conversation = conversations.by_chat_id(f"voice_{voice.call_sid}")
    assert conversation is not None and conversation.call_summary is None  # not before Twilio's completed

    completed = voice.twilio.status_params(voice.twilio.calls[voice.call_sid], "completed", duration=95)
    postcall.handle_call_status(CallStatusEvent.model_validate(completed))

    summarized = conversations.get(conversation.id)
    assert summarized.call_disposition is CallDisposition.PROMISE_MADE
    assert summarized.call_summary == (
        "Chamada de 1 min 35 s. Promessa de pagamento: R$ 179,80 até 14/03/2025 via Pix."
    )
