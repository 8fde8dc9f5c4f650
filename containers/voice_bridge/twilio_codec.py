"""Twilio Media Streams, the bidirectional `<Connect><Stream>` flavour (SPEC §3): pure codec.

Twilio sends `connected`, `start`, `media`, `mark`, `dtmf` and `stop` as JSON text frames; the bridge
sends `media`, `mark` and `clear`. Audio is base64 μ-law at 8 kHz, one byte per sample, so a payload
of N bytes lasts N / 8 ms. Payloads are relayed as the base64 text they arrived in (byte-exact, no
decode on the hot path).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MULAW_BYTES_PER_MS = 8  # 8000 samples/s, 1 byte per sample

# A `media` frame laid out as Twilio sends it (fields in this order, `streamSid` last or second, string
# values of these characters only, so the text is JSON with exactly this meaning): read without a JSON
# parse, 50 times a second per call. Any other layout goes through `json.loads`.
_MEDIA_FRAME = re.compile(
    r'\{ "event" : "media" , "sequenceNumber" : "[0-9]+" , (?P<sid>"streamSid" : "[A-Za-z0-9]*" , )?'
    r'"media" : \{ "track" : "(inbound|outbound)" , "chunk" : "([0-9]+)" , "timestamp" : "([0-9]+)" ,'
    r' "payload" : "([A-Za-z0-9+/=]*)" \} (?(sid)|, "streamSid" : "[A-Za-z0-9]*" )\} '.replace(
        " ",
        "[ \t\r\n]*",  # JSON's whitespace between tokens
    )
)


class TwilioProtocolError(ValueError):
    """A frame that is not a Media Streams message we can read (bad JSON, missing fields)."""


@dataclass(frozen=True, slots=True)
class Connected:
    protocol: str | None = None


@dataclass(frozen=True, slots=True)
class Start:
    stream_sid: str
    call_sid: str
    custom_parameters: dict[str, str] = field(default_factory=dict)
    tracks: tuple[str, ...] = ()
    media_format: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Media:
    payload: str  # base64 μ-law, exactly as received
    track: str = "inbound"
    chunk: int | None = None
    timestamp: int | None = None  # ms since the stream started


@dataclass(frozen=True, slots=True)
class Mark:
    name: str


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str


@dataclass(frozen=True, slots=True)
class Stop:
    call_sid: str | None = None


TwilioFrame = Connected | Start | Media | Mark | Dtmf | Stop


def parse(text: str | bytes) -> TwilioFrame | None:
    """One Media Streams message → a typed frame; None for an event we do not use.

    Raises `TwilioProtocolError` for a frame that is not a Media Streams message."""
    if isinstance(text, str):
        fast = _MEDIA_FRAME.fullmatch(text)
        if fast is not None:
            _, track, chunk, timestamp, payload = fast.groups()
            return Media(payload=payload, track=track, chunk=int(chunk), timestamp=int(timestamp))
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TwilioProtocolError("not JSON") from exc
    except RecursionError:
        raise TwilioProtocolError("JSON nested too deeply") from None
    if not isinstance(message, dict):
        raise TwilioProtocolError("not a JSON object")
    event = message.get("event")
    try:
        if event == "media":
            media = message["media"]
            return Media(
                payload=str(media["payload"]),
                track=str(media.get("track") or "inbound"),
                chunk=_int(media.get("chunk")),
                timestamp=_int(media.get("timestamp")),
            )
        if event == "mark":
            return Mark(name=str(message["mark"]["name"]))
        if event == "start":
            start = message["start"]
            params = start.get("customParameters") or {}
            if not isinstance(params, dict):
                raise TwilioProtocolError("start.customParameters is not an object")
            return Start(
                stream_sid=str(message.get("streamSid") or start["streamSid"]),
                call_sid=str(start["callSid"]),
                custom_parameters={str(k): str(v) for k, v in params.items()},
                tracks=tuple(str(t) for t in start.get("tracks") or ()),
                media_format=dict(start.get("mediaFormat") or {}),
            )
        if event == "connected":
            return Connected(protocol=message.get("protocol"))
        if event == "stop":
            stop = message.get("stop") or {}
            return Stop(call_sid=stop.get("callSid"))
        if event == "dtmf":
            return Dtmf(digit=str(message["dtmf"]["digit"]))
    except (KeyError, TypeError) as exc:
        raise TwilioProtocolError(f"malformed {event!r} event") from exc
    return None


def media(stream_sid: str, payload: str) -> str:
    """Audio for the caller (base64 μ-law 8 kHz)."""
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def mark(stream_sid: str, name: str) -> str:
    """A mark Twilio echoes back once the audio sent before it has been played."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    """Drop the audio Twilio has buffered but not played (barge-in); pending marks are echoed."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})


def payload_bytes(payload: str) -> int:
    """The decoded size of a base64 payload, without decoding it."""
    size = len(payload)
    if size == 0:
        return 0
    padding = 2 if payload.endswith("==") else 1 if payload.endswith("=") else 0
    return size * 3 // 4 - padding


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
