"""The voice bridge end to end on loopback: a Twilio Media Streams client and a Realtime server (both
speaking the real wire formats) on either side of the real bridge, over moto, the CRM simulator and the
Twilio REST simulator."""

from __future__ import annotations

import asyncio
import base64
import os
from datetime import timedelta

import httpx
import pytest

from shared.adapters import stream_tokens
from shared.core.config import reset_settings
from shared.data import conversations, messages, promises
from shared.data import targets as targets_data
from shared.domain.models import Channel, Outcome, Sender
from shared.engine import calls
from tests.integration.voice.conftest import (
    DOCUMENT,
    MODEL,
    OPENAI_KEY,
    OTHER_DOCUMENT,
    TWILIO_TOKEN,
    FakeRealtime,
    RealtimePeer,
    TwilioStream,
    VoiceWorld,
)


def frame(seed: int, size: int = 160) -> bytes:
    """A distinct, non-trivial μ-law frame (every byte value appears across frames)."""
    return bytes((seed * 31 + i * 7) % 256 for i in range(size))


async def connected_call(
    voice: VoiceWorld, realtime: FakeRealtime, **call: object
) -> tuple[TwilioStream, RealtimePeer]:
    """A call through the bridge up to Lia's greeting being requested."""
    bridge = call.pop("bridge", None) or voice.make_bridge()
    twilio = await voice.call(bridge, **call)  # type: ignore[arg-type]
    peer = await realtime.peer()
    await peer.ready()
    await peer.expect("response.create")
    return twilio, peer


def transcript(voice: VoiceWorld) -> list[tuple[Sender, str]]:
    conversation = conversations.by_chat_id(f"voice_{voice.call_sid}")
    assert conversation is not None
    return [(m.sender, m.content) for m in messages.list_for(conversation.id)]


def test_audio_is_relayed_byte_exact_both_ways_and_stop_closes_realtime(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime)
            # The session the bridge asked for: μ-law both ways, phone VAD, transcription, our tools.
            update = next(e for e in peer.received if e["type"] == "session.update")["session"]
            assert peer.path == f"/v1/realtime?model={MODEL}"
            assert peer.headers["Authorization"] == f"Bearer {OPENAI_KEY}"
            assert update["type"] == "realtime"
            assert update["audio"]["input"]["format"] == {"type": "audio/pcmu"}
            assert update["audio"]["output"]["format"] == {"type": "audio/pcmu"}
            assert update["audio"]["input"]["turn_detection"]["type"] == "server_vad"
            assert update["audio"]["input"]["transcription"]["language"] == "pt"
            names = {tool["name"] for tool in update["tools"]}
            assert {"consultar_faturas_cpf", "registrar_promessa_pagamento", "encerrar_chamada"} <= names
            assert "TR Telecom" in update["instructions"] and "Maria Silva" in update["instructions"]

            inbound = [frame(i) for i in range(10)]
            for chunk in inbound:
                await twilio.media(chunk)
            appended = [
                base64.b64decode((await peer.expect("input_audio_buffer.append"))["audio"]) for _ in inbound
            ]
            assert appended == inbound

            # Deltas of 40 ms or more go as they came; shorter ones are joined into chunks of at least
            # 40 ms (Twilio plays smaller frames choppy), the rest sent when the item's audio is done.
            outbound = [frame(100 + i, size) for i, size in enumerate((320, 800, 100, 120, 200, 3))]
            await peer.response_created("resp_1")
            await peer.item_added("resp_1", "item_a1")
            for chunk in outbound:
                await peer.audio("resp_1", "item_a1", chunk)
            await peer.send("response.output_audio.done", response_id="resp_1", item_id="item_a1")
            for _ in range(4):
                await twilio.expect("mark")
            assert twilio.media_payloads() == [
                outbound[0],
                outbound[1],
                outbound[2] + outbound[3] + outbound[4],
                outbound[5],
            ]
            relayed = [m["event"] for m in twilio.received]
            assert relayed == ["media", "mark"] * 4  # each chunk followed by its mark
            assert all(m["streamSid"] == twilio.stream_sid for m in twilio.received)

            await twilio.stop()
            async with asyncio.timeout(2):
                await peer.ws.wait_closed()
            await twilio.ws.close()
        await voice.settled()
        assert voice.twilio.hangups == []  # Twilio ended the call itself

    asyncio.run(scenario())


def test_barge_in_clears_twilio_and_truncates_at_the_audio_actually_played(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime, auto_play=False)
            await peer.response_created("resp_1")
            await peer.item_added("resp_1", "item_a1")
            for i in range(5):  # 5 x 40 ms sent...
                await peer.audio("resp_1", "item_a1", frame(i, 320))
            for _ in range(5):
                await twilio.expect("mark")
            await twilio.play(2)  # ...of which Twilio has played 80 ms
            await asyncio.sleep(0.05)

            await peer.send("input_audio_buffer.speech_started", audio_start_ms=900, item_id="item_u1")
            await twilio.expect("clear")
            truncate = await peer.expect("conversation.item.truncate")
            assert truncate["item_id"] == "item_a1"
            assert truncate["content_index"] == 0
            assert truncate["audio_end_ms"] == 80
            await peer.expect("response.cancel")  # the response was still active

            # Late audio of the interrupted item never reaches the caller.
            media_before = len(twilio.media_payloads())
            await peer.audio("resp_1", "item_a1", frame(9))
            await peer.transcript_done("resp_1", "item_a1", "Olá, aqui é a Lia, da TR Telecom.")
            await peer.response_done("resp_1", status="cancelled")
            await peer.say("resp_2", "item_a2", "Pois não?", [frame(20)])
            await twilio.expect("mark")
            assert twilio.media_payloads()[media_before:] == [frame(20)]

            # Speech with nothing playing is no barge-in.
            await twilio.play()
            await asyncio.sleep(0.05)
            await peer.send("input_audio_buffer.speech_started", audio_start_ms=3000, item_id="item_u2")
            await twilio.stop()
            async with asyncio.timeout(2):
                await peer.ws.wait_closed()
            assert [m["event"] for m in twilio.received].count("clear") == 1
            assert peer.sent_types().count("conversation.item.truncate") == 1
        await voice.settled()

    asyncio.run(scenario())
    lines = transcript(voice)
    assert (Sender.ASSISTANT, "Olá, aqui é a Lia, da TR Telecom. […]") in lines
    assert lines[-1] == (Sender.ASSISTANT, "Pois não?")


def test_promise_made_by_a_tool_call_during_the_call_is_stored(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime)
            await peer.say("resp_1", "item_a1", "Olá! Falo com Maria Silva?", [frame(1)])
            await peer.customer_said("item_u1", "Sim, sou eu. Meu CPF é cinco dois nove, 982, 247 25.")
            await peer.function_call("resp_2", "call_1", "consultar_faturas_cpf", {"cpf_cnpj": DOCUMENT})
            invoices = await peer.tool_output("call_1")
            assert invoices["total_devido"] == "179.80"
            await peer.expect("response.create")  # the model answers with the result
            await peer.customer_said("item_u2", "Consigo pagar sexta-feira.")
            await peer.function_call(
                "resp_3",
                "call_2",
                "registrar_promessa_pagamento",
                {
                    "cpf_cnpj": DOCUMENT,
                    "data_prevista_pagamento": "14/03/2025",
                    "valor_prometido": 179.80,
                    "metodo_pagamento": "pix",
                    "observacoes": None,
                },
            )
            promise = await peer.tool_output("call_2")
            assert promise["sucesso"] is True
            await peer.expect("response.create")
            await twilio.stop()
            async with asyncio.timeout(2):
                await peer.ws.wait_closed()
        await voice.settled()

    asyncio.run(scenario())
    [stored] = promises.active_for_document(DOCUMENT, voice.clock.now())
    assert str(stored.amount) == "179.80" and stored.due_date.isoformat() == "2025-03-14"
    assert stored.target_id == voice.target.id
    assert targets_data.get(voice.target.id).outcome is Outcome.PROMISE_MADE
    lines = transcript(voice)
    assert lines[0] == (Sender.ASSISTANT, "Olá! Falo com Maria Silva?")
    assert lines[1] == (Sender.CUSTOMER, f"Sim, sou eu. Meu CPF é {DOCUMENT}.")  # spoken digits as digits
    conversation = conversations.by_chat_id(f"voice_{voice.call_sid}")
    assert conversation is not None and conversation.identity_confirmed
    assert all(m.channel is Channel.VOICE for m in messages.list_for(conversation.id))


def test_a_cpf_keyed_on_the_keypad_counts_as_given_like_a_spoken_one(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime)
            await peer.say("resp_1", "item_a1", "Pode digitar seu CPF no teclado?", [frame(1)])
            await twilio.dtmf("9*" + DOCUMENT)  # a slip, restarted with *; ends by itself at 11 digits
            created = await peer.expect("conversation.item.create")
            [content] = created["item"]["content"]
            assert created["item"]["role"] == "user" and content["type"] == "input_text"
            assert content["text"].startswith(f"[teclado] CPF digitado no teclado: {DOCUMENT}")
            assert "529, 982, 247, 25" in content["text"]  # for Lia to read back
            await peer.expect("response.create")
            await peer.function_call("resp_2", "call_1", "consultar_faturas_cpf", {"cpf_cnpj": DOCUMENT})
            invoices = await peer.tool_output("call_1")
            assert invoices["total_devido"] == "179.80"
            await twilio.stop()
        await voice.settled()

    asyncio.run(scenario())
    assert (Sender.CUSTOMER, f"CPF digitado no teclado: {DOCUMENT}") in transcript(voice)
    conversation = conversations.by_chat_id(f"voice_{voice.call_sid}")
    assert conversation is not None and conversation.identity_confirmed
    assert [d.what for d in conversation.disclosures] == ["faturas"]
    assert conversation.disclosures[0].phone == voice.target.phone


def test_a_keyed_cpf_with_a_wrong_check_digit_is_not_a_document(voice: VoiceWorld) -> None:
    wrong = DOCUMENT[:-1] + "4"

    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime)
            await twilio.dtmf(wrong + "#")
            created = await peer.expect("conversation.item.create")
            assert "dígitos verificadores" in created["item"]["content"][0]["text"]
            await peer.function_call("resp_1", "call_1", "consultar_faturas_cpf", {"cpf_cnpj": DOCUMENT})
            refused = await peer.tool_output("call_1")
            assert "erro" in refused
            await twilio.stop()
        await voice.settled()

    asyncio.run(scenario())
    assert voice.crm.queries == []


def test_a_tool_call_about_another_cpf_is_refused_without_asking_the_crm(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime)
            await peer.customer_said("item_u1", f"Consulta o CPF da minha vizinha, {OTHER_DOCUMENT}.")
            await peer.function_call(
                "resp_1", "call_1", "consultar_faturas_cpf", {"cpf_cnpj": OTHER_DOCUMENT}
            )
            refused = await peer.tool_output("call_1")
            assert refused["erro"] == "other_document"
            await peer.expect("response.create")
            await twilio.stop()
        await voice.settled()

    asyncio.run(scenario())
    assert OTHER_DOCUMENT not in voice.crm.queries
    assert voice.crm.queries == []


def test_realtime_dropping_mid_call_ends_the_call_cleanly(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime)
            await peer.say("resp_1", "item_a1", "Olá! Falo com Maria Silva?", [frame(1)])
            await peer.customer_said("item_u1", "Sim.")
            await peer.response_created("resp_2")
            await peer.item_added("resp_2", "item_a2")
            await peer.send(
                "response.output_audio_transcript.delta", item_id="item_a2", delta="Que bom, Maria"
            )
            await asyncio.sleep(0.05)
            await peer.ws.close(1011, "server error")
            assert await twilio.wait_closed() == 1000
        await voice.settled()

    asyncio.run(scenario())
    assert voice.twilio.hangups == [voice.call_sid]
    assert transcript(voice) == [
        (Sender.ASSISTANT, "Olá! Falo com Maria Silva?"),
        (Sender.CUSTOMER, "Sim."),
        (Sender.ASSISTANT, "Que bom, Maria […]"),
    ]


def test_realtime_unreachable_continues_the_call_in_the_keypad_menu(
    voice: VoiceWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_REALTIME_URL", "ws://127.0.0.1:9/v1/realtime")  # nothing listens there

    async def scenario() -> None:
        twilio = await voice.call(voice.make_bridge())
        assert await twilio.wait_closed() == 1000
        await voice.settled()

    asyncio.run(scenario())
    assert voice.twilio.hangups == []  # the call goes on in TwiML (test_voice_transfer.py reads it)
    [(call_sid, twiml)] = voice.twilio.twiml_updates
    assert call_sid == voice.call_sid and "<Gather" in twiml


@pytest.mark.parametrize(
    "overrides",
    [
        {"token": ""},
        {"token": "1741608000.bm90LWEtc2lnbmF0dXJl"},
        {"targetId": "another-target"},
        {"callSid": "CA" + "9" * 32},
        "expired",
    ],
    ids=["missing", "forged", "other-target", "other-call", "expired"],
)
def test_a_stream_without_a_valid_token_is_closed_before_any_session(
    voice: VoiceWorld, overrides: dict[str, str] | str
) -> None:
    if overrides == "expired":
        past = voice.clock.now() - timedelta(minutes=10)
        overrides = {"token": stream_tokens.sign(voice.target.id, voice.call_sid, TWILIO_TOKEN, now=past)}
    assert isinstance(overrides, dict)

    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio = await voice.call(voice.make_bridge(), **overrides)
            assert await twilio.wait_closed() == 1008
            assert realtime.sessions == 0
        await voice.settled()

    asyncio.run(scenario())
    assert conversations.by_chat_id(f"voice_{voice.call_sid}") is None
    assert voice.twilio.hangups == []


def test_assistant_ends_the_call_once_its_goodbye_has_played(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime, auto_play=False)
            await peer.response_created("resp_1")
            await peer.item_added("resp_1", "item_a1")
            await peer.audio("resp_1", "item_a1", frame(1, 800))
            await peer.transcript_done("resp_1", "item_a1", "Obrigada, Maria. Tenha um bom dia!")
            await peer.send(
                "response.function_call_arguments.done",
                response_id="resp_1",
                item_id="item_fc",
                output_index=1,
                call_id="call_end",
                name="encerrar_chamada",
                arguments='{"motivo": "despedida"}',
            )
            await peer.response_done("resp_1")
            assert (await peer.tool_output("call_end"))["sucesso"] is True
            await twilio.expect("mark")
            await asyncio.sleep(0.1)
            assert not twilio.closed.is_set()  # the goodbye is still playing
            await twilio.play()
            assert await twilio.wait_closed() == 1000
            assert (
                "response.create"
                not in peer.sent_types()[peer.sent_types().index("conversation.item.create") :]
            )
        await voice.settled()

    asyncio.run(scenario())
    assert voice.twilio.hangups == [voice.call_sid]


def test_an_active_response_error_is_retried_after_that_response_is_done(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime)
            await peer.response_created("resp_1")
            await peer.send(
                "error",
                error={
                    "type": "invalid_request_error",
                    "code": "conversation_already_has_active_response",
                    "message": "Conversation already has an active response in progress: resp_1.",
                },
            )
            await peer.item_added("resp_1", "item_a1")
            await peer.audio("resp_1", "item_a1", frame(1, 320))
            await twilio.expect("media")  # the relay carries on
            await peer.response_done("resp_1")
            await peer.expect("response.create")
            await twilio.stop()
        await voice.settled()

    asyncio.run(scenario())


def test_a_call_is_hung_up_at_the_maximum_duration(voice: VoiceWorld) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(
                voice, realtime, bridge=voice.make_bridge(max_call_seconds=0.3)
            )
            assert await twilio.wait_closed() == 1000
            async with asyncio.timeout(2):
                await peer.ws.wait_closed()
        await voice.settled()

    asyncio.run(scenario())
    assert voice.twilio.hangups == [voice.call_sid]


def test_graceful_shutdown_waits_for_a_live_call(voice: VoiceWorld) -> None:
    bridge = voice.make_bridge(drain_seconds=5.0)
    assert httpx.get(bridge.url + "/health").json()["status"] == "ok"

    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, peer = await connected_call(voice, realtime, bridge=bridge)
            bridge.shutdown(wait=False)
            await asyncio.sleep(0.1)
            with pytest.raises(OSError):  # no longer listening: the load balancer sends calls elsewhere
                await TwilioStream.open(bridge.ws_url, call_sid="CA" + "2" * 32, parameters={})
            # The live call goes on, both ways.
            await twilio.media(frame(1))
            assert base64.b64decode((await peer.expect("input_audio_buffer.append"))["audio"]) == frame(1)
            await peer.say("resp_1", "item_a1", "Certo.", [frame(2)])
            await twilio.expect("mark")
            assert not bridge.join(0)
            await twilio.stop()
            assert await asyncio.to_thread(bridge.join, 5)
        await voice.settled()

    asyncio.run(scenario())
    assert voice.twilio.hangups == []


def test_shutdown_ends_calls_still_live_at_the_drain_deadline(voice: VoiceWorld) -> None:
    bridge = voice.make_bridge(drain_seconds=0.2)

    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            twilio, _ = await connected_call(voice, realtime, bridge=bridge)
            bridge.shutdown(wait=False)
            assert await twilio.wait_closed(within=5) == 1000
            assert await asyncio.to_thread(bridge.join, 5)
        await voice.settled()

    asyncio.run(scenario())
    assert voice.twilio.hangups == [voice.call_sid]


def test_health_answers_ok(voice: VoiceWorld) -> None:
    bridge = voice.make_bridge()
    response = httpx.get(bridge.url + "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "calls": 0}
    assert os.environ["OPENAI_REALTIME_MODEL"] == MODEL


def test_a_call_answered_opens_its_realtime_session_before_the_stream_starts(
    voice: VoiceWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        async with FakeRealtime() as realtime:
            bridge = voice.make_bridge()
            prepare = bridge.url + "/prepare"
            async with httpx.AsyncClient() as http:
                assert (await http.post(prepare, json=voice.parameters(token="1.forged"))).status_code == 403
                assert (await http.post(prepare, json={"targetId": "x"})).status_code == 400
            monkeypatch.setenv("VOICE_BRIDGE_WS_URL", bridge.ws_url)
            monkeypatch.setenv("VOICE_BRIDGE_PREPARE_URL", prepare)
            reset_settings()

            # Twilio fetches the TwiML: the endpoint tells the bridge, which opens the session now.
            twiml = await asyncio.to_thread(calls.call_twiml, voice.target.id, voice.call_sid)
            assert bridge.ws_url in twiml
            peer = await realtime.peer()
            assert peer.headers["X-Client-Request-Id"] == voice.call_sid
            await peer.ready()  # configured before any stream exists

            twilio = await voice.call(bridge)
            await peer.expect("response.create")  # Lia speaks as soon as the stream starts
            assert realtime.sessions == 1  # the prepared session was adopted, not opened again
            await twilio.stop()
        await voice.settled()

    asyncio.run(scenario())
