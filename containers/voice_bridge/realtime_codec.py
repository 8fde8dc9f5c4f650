"""OpenAI Realtime (GA) over websocket: pure codec of the client events the bridge sends and the
server events it reads (SPEC §3). Audio is `audio/pcmu` both ways: the base64 μ-law Twilio sends is
appended as is, and the model's deltas go back to Twilio untouched (no transcoding).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class RealtimeProtocolError(ValueError):
    """A server frame that is not a Realtime event (bad JSON, no type)."""


# --------------------------------------------------------------------------------------------------
# Client events
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceTuning:
    """How the model listens and speaks on a phone line (documented defaults)."""

    voice: str = "marin"
    vad_threshold: float = 0.6  # phone lines are noisy: less eager than the 0.5 default
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500
    transcription_model: str = "gpt-4o-mini-transcribe"
    transcription_language: str = "pt"


def session_update(instructions: str, tools: Sequence[dict[str, Any]], tuning: VoiceTuning) -> str:
    """`session.update` (GA): μ-law in and out, server VAD, input transcription, the tools."""
    session = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "instructions": instructions,
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "transcription": {
                    "model": tuning.transcription_model,
                    "language": tuning.transcription_language,
                },
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": tuning.vad_threshold,
                    "prefix_padding_ms": tuning.prefix_padding_ms,
                    "silence_duration_ms": tuning.silence_duration_ms,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": {"type": "audio/pcmu"}, "voice": tuning.voice},
        },
        "tools": list(tools),
        "tool_choice": "auto",
    }
    return json.dumps({"type": "session.update", "session": session}, ensure_ascii=False)


def input_audio_append(audio: str) -> str:
    """`input_audio_buffer.append` with base64 μ-law, as received from Twilio."""
    return '{"type":"input_audio_buffer.append","audio":' + json.dumps(audio) + "}"


def response_create() -> str:
    return '{"type":"response.create"}'


def response_cancel() -> str:
    return '{"type":"response.cancel"}'


def truncate(item_id: str, audio_end_ms: int, content_index: int = 0) -> str:
    """`conversation.item.truncate`: the assistant item was heard only up to `audio_end_ms`."""
    return json.dumps(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": content_index,
            "audio_end_ms": max(0, int(audio_end_ms)),
        }
    )


def user_text(item_id: str, text: str) -> str:
    """`conversation.item.create` of a user `message` with `input_text` (what the caller keyed)."""
    item = {
        "id": item_id,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    return json.dumps({"type": "conversation.item.create", "item": item}, ensure_ascii=False)


def function_call_output(call_id: str, output: str) -> str:
    """`conversation.item.create` of a `function_call_output` (the tool's JSON result)."""
    return json.dumps(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": call_id, "output": output},
        },
        ensure_ascii=False,
    )


# --------------------------------------------------------------------------------------------------
# Server events
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionReady:
    """`session.created` (created=True) or `session.updated`."""

    created: bool


@dataclass(frozen=True, slots=True)
class ResponseCreated:
    response_id: str


@dataclass(frozen=True, slots=True)
class OutputItemAdded:
    response_id: str
    item_id: str
    item_type: str
    name: str | None = None  # function calls
    call_id: str | None = None


@dataclass(frozen=True, slots=True)
class AudioDelta:
    response_id: str
    item_id: str
    delta: str  # base64 μ-law
    content_index: int = 0


@dataclass(frozen=True, slots=True)
class AudioDone:
    """`response.output_audio.done`: the item's audio is complete."""

    item_id: str


@dataclass(frozen=True, slots=True)
class AudioTranscriptDelta:
    item_id: str
    delta: str


@dataclass(frozen=True, slots=True)
class AudioTranscriptDone:
    item_id: str
    transcript: str


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    item_id: str | None
    audio_start_ms: int | None


@dataclass(frozen=True, slots=True)
class InputCommitted:
    item_id: str


@dataclass(frozen=True, slots=True)
class InputTranscription:
    """`conversation.item.input_audio_transcription.completed` (or `.failed`: transcript None)."""

    item_id: str
    transcript: str | None


@dataclass(frozen=True, slots=True)
class FunctionCallDone:
    response_id: str | None
    item_id: str | None
    call_id: str
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class ResponseDone:
    response_id: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class ServerError:
    code: str | None
    message: str | None
    error_type: str | None


@dataclass(frozen=True, slots=True)
class Other:
    type: str


ServerEvent = (
    SessionReady
    | ResponseCreated
    | OutputItemAdded
    | AudioDelta
    | AudioDone
    | AudioTranscriptDelta
    | AudioTranscriptDone
    | SpeechStarted
    | InputCommitted
    | InputTranscription
    | FunctionCallDone
    | ResponseDone
    | ServerError
    | Other
)


def parse(text: str | bytes) -> ServerEvent:
    """One server frame → a typed event (`Other` for the many we do not act on)."""
    try:
        event = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RealtimeProtocolError("not JSON") from exc
    except RecursionError:
        raise RealtimeProtocolError("JSON nested too deeply") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise RealtimeProtocolError("not a Realtime event")
    kind: str = event["type"]
    get = event.get
    try:
        if kind == "response.output_audio.delta":
            return AudioDelta(
                str(get("response_id") or ""),
                str(event["item_id"]),
                str(event["delta"]),
                int(get("content_index") or 0),
            )
        if kind == "response.output_audio.done":
            return AudioDone(str(event["item_id"]))
        if kind == "response.output_audio_transcript.delta":
            return AudioTranscriptDelta(str(event["item_id"]), str(get("delta") or ""))
        if kind == "response.output_audio_transcript.done":
            return AudioTranscriptDone(str(event["item_id"]), str(get("transcript") or ""))
        if kind == "input_audio_buffer.speech_started":
            start = get("audio_start_ms")
            return SpeechStarted(get("item_id"), int(start) if start is not None else None)
        if kind == "input_audio_buffer.committed":
            return InputCommitted(str(event["item_id"]))
        if kind == "conversation.item.input_audio_transcription.completed":
            return InputTranscription(str(event["item_id"]), str(get("transcript") or ""))
        if kind == "conversation.item.input_audio_transcription.failed":
            return InputTranscription(str(event["item_id"]), None)
        if kind == "response.function_call_arguments.done":
            return FunctionCallDone(
                get("response_id"),
                get("item_id"),
                str(event["call_id"]),
                get("name"),
                str(get("arguments") or ""),
            )
        if kind == "response.output_item.added":
            item = event["item"]
            response_id = str(get("response_id") or "")
            return OutputItemAdded(
                response_id, str(item["id"]), str(item.get("type")), item.get("name"), item.get("call_id")
            )
        if kind == "response.created":
            return ResponseCreated(str(event["response"]["id"]))
        if kind == "response.done":
            response = get("response") or {}
            return ResponseDone(response.get("id"), response.get("status"))
        if kind in ("session.created", "session.updated"):
            return SessionReady(created=kind == "session.created")
        if kind == "error":
            error = get("error") or {}
            return ServerError(error.get("code"), error.get("message"), error.get("type"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RealtimeProtocolError(f"malformed {kind!r} event") from exc
    return Other(kind)
