"""The voice bridge's pure codecs: Twilio Media Streams, OpenAI Realtime (GA) and spoken digits."""

from __future__ import annotations

import base64
import json

import pytest

from containers.voice_bridge import realtime_codec as rt
from containers.voice_bridge import twilio_codec as tw
from containers.voice_bridge.spoken import digits_spoken

START = {
    "event": "start",
    "sequenceNumber": "1",
    "start": {
        "accountSid": "AC123",
        "streamSid": "MZ1",
        "callSid": "CA1",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"targetId": "T1", "callSid": "CA1", "token": "1.abc"},
    },
    "streamSid": "MZ1",
}


def test_twilio_start_gives_call_stream_and_custom_parameters() -> None:
    frame = tw.parse(json.dumps(START))
    assert frame == tw.Start(
        stream_sid="MZ1",
        call_sid="CA1",
        custom_parameters={"targetId": "T1", "callSid": "CA1", "token": "1.abc"},
        tracks=("inbound",),
        media_format={"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
    )


def test_twilio_media_keeps_the_payload_text_untouched() -> None:
    payload = base64.b64encode(bytes(range(160))).decode()
    message = {
        "event": "media",
        "sequenceNumber": "3",
        "media": {"track": "inbound", "chunk": "2", "timestamp": "40", "payload": payload},
        "streamSid": "MZ1",
    }
    assert tw.parse(json.dumps(message)) == tw.Media(payload, "inbound", 2, 40)


@pytest.mark.parametrize(
    "text",
    [
        # Twilio's own layout, compact and spaced: read without a JSON parse
        '{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"40",'
        '"payload":"AAEC/+=="},"streamSid":"MZ1"}',
        '{ "event": "media", "sequenceNumber": "3", "media": {"track": "inbound", "chunk": "2",\n'
        '"timestamp": "40", "payload": "AAEC/+=="}, "streamSid": "MZ1" }\r\n',
        '{"event": "media", "sequenceNumber": "3", "streamSid": "MZ1", "media": {"track": "inbound",'
        ' "chunk": "2", "timestamp": "40", "payload": "AAEC/+=="}}',
        # other layouts and JSON escapes: the full parse, same frame
        '{"streamSid":"MZ1","event":"media","media":{"payload":"AAEC/+==","track":"inbound","chunk":2,'
        '"timestamp":40}}',
        '{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"40",'
        '"payload":"AAEC\\/+=="},"streamSid":"MZ1"}',
    ],
)
def test_twilio_media_reads_the_same_in_any_json_layout(text: str) -> None:
    assert tw.parse(text) == tw.Media("AAEC/+==", "inbound", 2, 40)


@pytest.mark.parametrize(
    "text",
    [
        # not JSON's whitespace (\v), a second object after the frame: not a frame at all
        '{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"40",'
        '"payload":"AAEC"},"streamSid":"MZ1"}\v',
        '{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"40",'
        '"payload":"AAEC"},"streamSid":"MZ1"}{}',
        '{"event":"media","sequenceNumber":"3","streamSid":"MZ1","media":{"track":"inbound","chunk":"2",'
        '"timestamp":"40","payload":"AAEC"},"streamSid":"MZ1"',
    ],
)
def test_twilio_media_fast_path_accepts_only_json(text: str) -> None:
    with pytest.raises(tw.TwilioProtocolError):
        tw.parse(text)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"event": "mark", "streamSid": "MZ1", "mark": {"name": "7"}}, tw.Mark("7")),
        ({"event": "stop", "streamSid": "MZ1", "stop": {"callSid": "CA1"}}, tw.Stop("CA1")),
        (
            {"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "5"}},
            tw.Dtmf("5"),
        ),
        ({"event": "connected", "protocol": "Call", "version": "1.0.0"}, tw.Connected("Call")),
        ({"event": "something-new"}, None),
    ],
)
def test_twilio_other_events(message: dict[str, object], expected: object) -> None:
    assert tw.parse(json.dumps(message)) == expected


@pytest.mark.parametrize(
    "raw",
    ["not json", "[1, 2]", '{"event": "media"}', '{"event": "start", "start": {}}', "[" * 100_000],
)
def test_twilio_malformed_frames_raise_a_protocol_error(raw: str) -> None:
    with pytest.raises(tw.TwilioProtocolError):
        tw.parse(raw)


def test_twilio_outbound_messages_carry_the_stream_sid() -> None:
    assert json.loads(tw.media("MZ1", "AAA=")) == {
        "event": "media",
        "streamSid": "MZ1",
        "media": {"payload": "AAA="},
    }
    assert json.loads(tw.mark("MZ1", "3")) == {"event": "mark", "streamSid": "MZ1", "mark": {"name": "3"}}
    assert json.loads(tw.clear("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


@pytest.mark.parametrize("size", [0, 1, 2, 3, 160, 161, 800])
def test_payload_size_is_read_from_base64_without_decoding(size: int) -> None:
    assert tw.payload_bytes(base64.b64encode(bytes(size)).decode()) == size


def test_session_update_asks_for_pcmu_both_ways_server_vad_and_transcription() -> None:
    tools = [{"type": "function", "name": "x", "description": "d", "parameters": {"type": "object"}}]
    event = json.loads(rt.session_update("Você é a Lia.", tools, rt.VoiceTuning()))
    session = event["session"]
    assert event["type"] == "session.update"
    assert session["type"] == "realtime"
    assert session["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.6,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }
    assert session["audio"]["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe", "language": "pt"}
    assert session["tools"] == tools and session["tool_choice"] == "auto"
    assert session["instructions"] == "Você é a Lia."


def test_client_events() -> None:
    assert json.loads(rt.input_audio_append("AAA=")) == {"type": "input_audio_buffer.append", "audio": "AAA="}
    assert json.loads(rt.truncate("item_1", 1234)) == {
        "type": "conversation.item.truncate",
        "item_id": "item_1",
        "content_index": 0,
        "audio_end_ms": 1234,
    }
    assert json.loads(rt.truncate("item_1", -5))["audio_end_ms"] == 0
    assert json.loads(rt.function_call_output("call_1", '{"ok": true}')) == {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'},
    }
    assert json.loads(rt.user_text("keypad_1", "[teclado] 52998224725")) == {
        "type": "conversation.item.create",
        "item": {
            "id": "keypad_1",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "[teclado] 52998224725"}],
        },
    }
    assert json.loads(rt.response_create()) == {"type": "response.create"}
    assert json.loads(rt.response_cancel()) == {"type": "response.cancel"}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {
                "type": "response.output_audio.delta",
                "response_id": "r",
                "item_id": "i",
                "content_index": 0,
                "delta": "QQ==",
            },
            rt.AudioDelta("r", "i", "QQ==", 0),
        ),
        (
            {"type": "response.output_audio.done", "response_id": "r", "item_id": "i"},
            rt.AudioDone("i"),
        ),
        (
            {"type": "response.output_audio_transcript.done", "item_id": "i", "transcript": "Olá"},
            rt.AudioTranscriptDone("i", "Olá"),
        ),
        (
            {"type": "input_audio_buffer.speech_started", "audio_start_ms": 10, "item_id": "u"},
            rt.SpeechStarted("u", 10),
        ),
        ({"type": "input_audio_buffer.committed", "item_id": "u"}, rt.InputCommitted("u")),
        (
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "item_id": "u",
                "transcript": "sim",
            },
            rt.InputTranscription("u", "sim"),
        ),
        (
            {"type": "conversation.item.input_audio_transcription.failed", "item_id": "u"},
            rt.InputTranscription("u", None),
        ),
        (
            {
                "type": "response.function_call_arguments.done",
                "response_id": "r",
                "item_id": "f",
                "call_id": "c",
                "name": "n",
                "arguments": "{}",
            },
            rt.FunctionCallDone("r", "f", "c", "n", "{}"),
        ),
        (
            {
                "type": "response.output_item.added",
                "response_id": "r",
                "item": {"id": "f", "type": "function_call", "name": "n", "call_id": "c"},
            },
            rt.OutputItemAdded("r", "f", "function_call", "n", "c"),
        ),
        ({"type": "response.created", "response": {"id": "r"}}, rt.ResponseCreated("r")),
        (
            {"type": "response.done", "response": {"id": "r", "status": "cancelled"}},
            rt.ResponseDone("r", "cancelled"),
        ),
        ({"type": "session.updated", "session": {}}, rt.SessionReady(created=False)),
        (
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": "conversation_already_has_active_response",
                    "message": "m",
                },
            },
            rt.ServerError("conversation_already_has_active_response", "m", "invalid_request_error"),
        ),
        ({"type": "rate_limits.updated", "rate_limits": []}, rt.Other("rate_limits.updated")),
    ],
)
def test_server_events_are_typed(event: dict[str, object], expected: object) -> None:
    assert rt.parse(json.dumps(event)) == expected


@pytest.mark.parametrize(
    "raw", ["{", '{"no": "type"}', '{"type": "response.output_audio.delta"}', '{"a":' * 100_000]
)
def test_malformed_server_events_raise_a_protocol_error(raw: str) -> None:
    with pytest.raises(rt.RealtimeProtocolError):
        rt.parse(raw)


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("Meu CPF é 529 982 247 25", "Meu CPF é 52998224725"),
        ("é 529.982.247-25, tá?", "é 52998224725, tá?"),
        ("cinco dois nove nove oito dois dois quatro sete dois cinco", "52998224725"),
        ("cinco dois nove, 982, dois quatro sete, 25", "52998224725"),
        ("meu número é um um, nove nove nove nove nove, oito oito oito oito", "meu número é 11999998888"),
        (
            "quinhentos e vinte e nove, novecentos e oitenta e dois, duzentos e quarenta e sete, vinte e cinco",
            "52998224725",
        ),
        (
            "É cento e onze, quatrocentos e quarenta e quatro, setecentos e setenta e sete, traço trinta e cinco",
            "É 11144477735",
        ),
        (
            "cento e onze quatrocentos e quarenta e quatro setecentos e setenta e sete trinta e cinco",
            "11144477735",
        ),
        ("zero quarenta e cinco, cem, dezessete, meia meia, dois", "04510017662"),
        (
            "trezentos e noventa ponto quinhentos e trinta e três ponto quatrocentos e quarenta e sete hífen zero cinco",
            "39053344705",
        ),
        ("Consigo pagar dois boletos no dia 15", "Consigo pagar dois boletos no dia 15"),
        (
            "posso pagar cento e vinte e cinco reais dia vinte",
            "posso pagar cento e vinte e cinco reais dia vinte",
        ),
        ("É um prazer, uma dúvida", "É um prazer, uma dúvida"),
    ],
)
def test_spoken_documents_become_digits_and_ordinary_numbers_stay(spoken: str, written: str) -> None:
    assert digits_spoken(spoken) == written
