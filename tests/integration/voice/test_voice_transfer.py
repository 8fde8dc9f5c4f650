"""A call that reaches a person, and a call that goes on when the model is down: the bridge redirects the
live call through Twilio's REST API (a call update with TwiML), and the Twilio simulator plays what
Twilio would do with it — the warm transfer's `<Dial>` (whisper, then the signed `<Dial action>`
callback, answered by the API in-process)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from shared.core import clock
from shared.core.config import reset_settings
from shared.data import conversations, messages
from shared.data import targets as targets_data
from shared.domain.models import Channel, Conversation, ConversationStatus, Outcome, Sender
from shared.engine import desk, warm_transfer
from shared.engine.conversations import open_conversation
from tests.integration.voice.conftest import FakeRealtime, VoiceWorld
from tests.integration.voice.test_voice_bridge import connected_call, frame

DESK = "+5511955554444"
CALLER_ID = "+5511400000000"  # TWILIO_PHONE_NUMBER of the voice world
BASE = "https://cobranca.example.com"


@pytest.fixture
def api(voice: VoiceWorld) -> Iterator[TestClient]:
    """The API in-process; the Twilio simulator's webhooks of a played dial are posted to it."""
    from functions.api.app import create_app

    with TestClient(create_app(), base_url=BASE) as client:

        def post(url: str, data: dict[str, str], headers: dict[str, str]) -> httpx.Response:
            return client.post(url, data=data, headers=headers)

        original = voice.twilio.post
        voice.twilio.post = post
        yield client
        voice.twilio.post = original


def desk_open(
    monkeypatch: pytest.MonkeyPatch, *, number: str | None = DESK, hours: str = "08:00-18:00"
) -> None:
    if number is None:
        monkeypatch.delenv("HUMAN_AGENT_NUMBER", raising=False)
    else:
        monkeypatch.setenv("HUMAN_AGENT_NUMBER", number)
    monkeypatch.setenv("HUMAN_AGENT_HOURS", hours)  # the virtual clock: Monday 10/03/2025, 09:00 in São Paulo
    reset_settings()


def call_conversation(voice: VoiceWorld) -> Conversation:
    conversation = conversations.by_chat_id(f"voice_{voice.call_sid}")
    assert conversation is not None
    return conversation


async def handed_over(voice: VoiceWorld, realtime: FakeRealtime) -> dict[str, Any]:
    """A call where the customer asks for a person and Lia calls `transferir_para_humano`, then says so
    (her words still playing: the test echoes the marks). Returns the tool's output."""
    twilio, peer = await connected_call(voice, realtime, auto_play=False)
    await peer.say("resp_1", "item_a1", "Olá! Falo com Maria Silva?", [frame(1)])
    await twilio.play()
    await peer.customer_said("item_u1", "Quero falar com um atendente.")
    await peer.function_call(
        "resp_2", "call_1", "transferir_para_humano", {"motivo": "cliente pediu um atendente"}
    )
    output = await peer.tool_output("call_1")
    await peer.expect("response.create")  # Lia answers the tool's result
    words = "Vou transferir você agora." if output["transferencia"] == "ligacao" else "Vamos retornar."
    await peer.say("resp_3", "item_a3", words, [frame(3, 800)])
    await twilio.expect("mark")
    await asyncio.sleep(0.1)
    assert voice.twilio.twiml_updates == []  # nothing moves while Lia is still speaking
    await twilio.play()
    if output["transferencia"] == "retorno":
        await twilio.stop()  # the customer hangs up after Lia's goodbye
        await twilio.wait_closed()
    else:
        assert await twilio.wait_closed() == 1000  # the bridge let the call go on
    return output


def played_dial(voice: VoiceWorld) -> Any:
    [dial] = voice.twilio.dials
    assert dial.done.wait(10)
    return dial


def test_a_transfer_redirects_the_call_to_the_desk_number_with_a_whisper(
    voice: VoiceWorld, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk_open(monkeypatch)

    async def scenario() -> dict[str, Any]:
        async with FakeRealtime() as realtime:
            output = await handed_over(voice, realtime)
        await voice.settled()
        return output

    output = asyncio.run(scenario())
    assert output["sucesso"] is True and output["transferencia"] == "ligacao"
    conversation = call_conversation(voice)
    [(call_sid, twiml)] = voice.twilio.twiml_updates
    assert call_sid == voice.call_sid and voice.twilio.hangups == []
    response = ET.fromstring(twiml)
    say, dial = list(response)
    assert say.tag == "Say" and say.get("language") == "pt-BR" and say.get("voice") == "Polly.Camila"
    assert dial.tag == "Dial" and dial.get("callerId") == CALLER_ID
    assert dial.get("action") == f"{BASE}/api/voice/transfer/{conversation.id}/status"
    [number] = list(dial)
    assert number.text == DESK and number.get("url") == f"{BASE}/api/voice/transfer/{conversation.id}/whisper"
    # The simulator played it: the agent answered, heard who calls and why, and the call ended with them.
    dial = played_dial(voice)
    assert (dial.number, dial.caller_id, dial.status) == (DESK, CALLER_ID, "completed")
    whisper = ET.fromstring(dial.whisper or "").find("Say")
    assert whisper is not None and whisper.get("language") == "pt-BR"
    assert "Maria Silva" in (whisper.text or "") and "cliente pediu um atendente" in (whisper.text or "")
    assert ET.fromstring(dial.ending or "").find("Hangup") is not None
    answered = conversations.get(conversation.id)
    assert answered.status is ConversationStatus.TRANSFERRED and answered.waiting_since is None
    assert targets_data.get(voice.target.id).outcome is Outcome.TRANSFERRED


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "failed"])
def test_a_dial_nobody_answers_ends_politely_and_the_case_waits_in_the_queue(
    voice: VoiceWorld, api: TestClient, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    desk_open(monkeypatch)
    voice.twilio.dial_outcome = outcome

    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            await handed_over(voice, realtime)
        await voice.settled()

    asyncio.run(scenario())
    dial = played_dial(voice)
    assert dial.status == outcome and dial.whisper is None
    ending = ET.fromstring(dial.ending or "")
    assert [verb.tag for verb in ending] == ["Say", "Hangup"]
    assert "WhatsApp" in (ending[0].text or "") and ending[0].get("language") == "pt-BR"
    conversation = call_conversation(voice)
    assert [c.id for c in desk.queue(50, None).items] == [conversation.id]
    notes = [m.content for m in messages.list_for(conversation.id) if m.sender is Sender.SYSTEM]
    assert any(note.startswith("Transferência não atendida") for note in notes)


def test_a_forged_dial_callback_is_refused(voice: VoiceWorld, api: TestClient) -> None:
    response = api.post(
        "/api/voice/transfer/anything/status",
        data={"CallSid": voice.call_sid, "DialCallStatus": "completed"},
        headers={"X-Twilio-Signature": "forged"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("number", "hours", "why"),
    [(None, "08:00-18:00", "nenhum número"), (DESK, "13:00-18:00", "fora do horário")],
    ids=["no-number", "outside-hours"],
)
def test_without_a_reachable_desk_lia_offers_a_callback_and_the_call_waits_in_the_queue(
    voice: VoiceWorld, monkeypatch: pytest.MonkeyPatch, number: str | None, hours: str, why: str
) -> None:
    desk_open(monkeypatch, number=number, hours=hours)

    async def scenario() -> dict[str, Any]:
        async with FakeRealtime() as realtime:
            output = await handed_over(voice, realtime)
        await voice.settled()
        return output

    output = asyncio.run(scenario())
    assert output["transferencia"] == "retorno" and output["retorno"] == warm_transfer.CALLBACK
    assert "aviso" not in output  # WhatsApp's words for the handoff are not the call's
    assert voice.twilio.twiml_updates == [] and voice.twilio.dials == []
    conversation = call_conversation(voice)
    [queued] = desk.queue(50, None).items
    assert queued.id == conversation.id and queued.handoff_reason == "cliente pediu um atendente"
    thread = [(m.sender, m.content) for m in messages.list_for(conversation.id)]
    assert (Sender.CUSTOMER, "Quero falar com um atendente.") in thread  # the call's transcript
    assert (Sender.ASSISTANT, "Vamos retornar.") in thread
    assert any(sender is Sender.SYSTEM and why in text for sender, text in thread)


@pytest.mark.parametrize(
    ("integration", "wrote_hours_ago", "promise"),
    [
        ("baileys", None, warm_transfer.CALLBACK),
        ("cloud", None, warm_transfer.WRITE_FIRST),
        ("cloud", 25, warm_transfer.WRITE_FIRST),
        ("cloud", 23, warm_transfer.CALLBACK),
    ],
    ids=["baileys", "cloud-never-wrote", "cloud-window-expired", "cloud-window-open"],
)
def test_a_callback_on_the_cloud_api_without_a_window_asks_the_caller_to_write_on_whatsapp_first(
    voice: VoiceWorld,
    monkeypatch: pytest.MonkeyPatch,
    integration: str,
    wrote_hours_ago: int | None,
    promise: str,
) -> None:
    desk_open(monkeypatch, number=None)
    monkeypatch.setenv("EVOLUTION_INTEGRATION", integration)
    reset_settings()
    if wrote_hours_ago is not None:  # her last WhatsApp message, that long before the call
        chat = open_conversation(Channel.WHATSAPP, voice.target.phone, target=voice.target)
        conversations.update(chat.id, last_inbound_at=clock.now() - timedelta(hours=wrote_hours_ago))

    async def scenario() -> dict[str, Any]:
        async with FakeRealtime() as realtime:
            output = await handed_over(voice, realtime)
        await voice.settled()
        return output

    output = asyncio.run(scenario())

    assert output["transferencia"] == "retorno" and output["retorno"] == promise
    conversation = call_conversation(voice)
    assert [c.id for c in desk.queue(50, None).items] == [conversation.id]
    note = [m.content for m in messages.list_for(conversation.id) if m.sender is Sender.SYSTEM][-1]
    assert note.startswith("Retorno oferecido ao cliente pelo WhatsApp")
    assert ("janela de 24 h fechada" in note) is (promise == warm_transfer.WRITE_FIRST)
    blocked = desk.reply_blocked(conversation)
    assert blocked is (desk.ReplyBlocked.WINDOW_CLOSED if promise == warm_transfer.WRITE_FIRST else None)


def test_realtime_refusing_the_session_sends_the_call_to_the_keypad_menu(
    voice: VoiceWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_REALTIME_URL", "ws://127.0.0.1:9/v1/realtime")  # connection refused

    async def scenario() -> None:
        twilio = await voice.call(voice.make_bridge())
        assert await twilio.wait_closed() == 1000
        await voice.settled()

    asyncio.run(scenario())
    assert voice.twilio.hangups == []
    [(_, twiml)] = voice.twilio.twiml_updates
    gather = ET.fromstring(twiml).find("Gather")
    assert gather is not None and gather.get("input") == "dtmf"
    say = gather.find("Say")
    assert say is not None and say.get("language") == "pt-BR" and say.get("voice") == "Polly.Camila"
    assert "TR Telecom" in (say.text or "") and "CPF" in (say.text or "")
    conversation = call_conversation(voice)
    assert gather.get("action") == f"{BASE}/api/voice/menu/{conversation.id}/documento"


def test_realtime_dropping_before_lia_spoke_also_falls_back_to_the_keypad_menu(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio = await voice.call(voice.make_bridge())
            peer = await realtime.peer()
            await peer.ready()
            await peer.ws.close(1011, "server error")
            assert await twilio.wait_closed() == 1000
        await voice.settled()

    asyncio.run(scenario())
    assert voice.twilio.hangups == []
    [(_, twiml)] = voice.twilio.twiml_updates
    assert "<Gather" in twiml
