"""Twilio's side of a `<Connect><Stream>` for the sandbox's answered calls: the websocket Twilio opens to
the stream URL of the call's TwiML, sending what Twilio sends (`connected`; `start` with the streamSid,
the CallSid and the `<Parameter>`s as `customParameters`; the caller's 20 ms μ-law `media` frames with
`sequenceNumber`, `chunk` and `timestamp`; each mark echoed once the audio before it has played; `stop`
when the caller hangs up).

The caller is a function: given what the assistant just said (heard in the relayed audio, `speech`),
what they answer, or None to hang up.
"""

from __future__ import annotations

import asyncio
import base64
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from infra.local.simulators import speech

Caller = Callable[[str], str | None]
CALL_TIMEOUT_SECONDS = 60.0  # a sandbox call that goes nowhere ends here
HANG_UP_PAUSE_SECONDS = 0.2
WORDS_PER_SECOND = 15.0  # characters spoken per second, for the call's duration
MIN_TURN_SECONDS = 2.0


@dataclass(frozen=True)
class Stream:
    """The `<Stream>` of a call's TwiML."""

    url: str
    parameters: dict[str, str]


@dataclass
class StreamedCall:
    """What was heard and said on a call, and how long it lasted (as spoken)."""

    seconds: float
    heard: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)


def stream_of(twiml: str) -> Stream | None:
    """The `<Connect><Stream url>` of `twiml` with its `<Parameter>`s; None when there is none."""
    root = ET.fromstring(twiml)
    element = root.find("./Connect/Stream")
    if element is None or not element.get("url"):
        return None
    parameters = {p.get("name", ""): p.get("value", "") for p in element.findall("Parameter")}
    return Stream(str(element.get("url")), parameters)


def stream_call(stream: Stream, account_sid: str, call_sid: str, caller: Caller) -> StreamedCall:
    """Play the call on its media stream until the caller or the bridge hangs up."""
    return asyncio.run(_MediaStream(stream, account_sid, call_sid, caller).run())


class _MediaStream:
    def __init__(self, stream: Stream, account_sid: str, call_sid: str, caller: Caller) -> None:
        self.stream = stream
        self.account_sid = account_sid
        self.call_sid = call_sid
        self.stream_sid = "MZ" + call_sid[2:]
        self.caller = caller
        self.listener = speech.Listener()
        self.call = StreamedCall(seconds=0)
        self._sequence = 0
        self._chunk = 0
        self._answer: str | None = None
        self._hang_up = False

    async def run(self) -> StreamedCall:
        async with websockets.connect(self.stream.url, compression=None) as ws:
            await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            await self._send(
                ws,
                "start",
                start={
                    "accountSid": self.account_sid,
                    "streamSid": self.stream_sid,
                    "callSid": self.call_sid,
                    "tracks": ["inbound"],
                    "customParameters": self.stream.parameters,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            )
            try:
                async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
                    await self._converse(ws)
            except TimeoutError:
                await self._stop(ws)
        return self.call

    async def _converse(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                message = json.loads(raw)
                event = message.get("event")
                if event == "media":
                    for said in self.listener.feed(base64.b64decode(message["media"]["payload"])):
                        self._heard(said)
                elif event == "mark":
                    await self._send(ws, "mark", mark=message["mark"])  # played
                    if self._hang_up:
                        # A person puts the phone down a moment after the last words, not the instant
                        # the audio is out (nothing here plays it in real time): what the bridge still
                        # receives about those words (their transcript) arrives before the stop.
                        await asyncio.sleep(HANG_UP_PAUSE_SECONDS)
                        await self._stop(ws)
                        return
                    if self._answer is not None:  # Lia has finished and been heard: answer
                        answer, self._answer = self._answer, None
                        await self._speak(ws, answer)
        except websockets.exceptions.ConnectionClosed:
            pass  # the bridge hung up

    def _heard(self, text: str) -> None:
        self.call.heard.append(text)
        self.call.seconds += max(MIN_TURN_SECONDS, len(text) / WORDS_PER_SECOND)
        answer = self.caller(text)
        if answer is None:
            self._hang_up = True
        else:
            self._answer = answer

    async def _speak(self, ws: ClientConnection, text: str) -> None:
        self.call.said.append(text)
        self.call.seconds += max(MIN_TURN_SECONDS, len(text) / WORDS_PER_SECOND)
        for frame in speech.frames(speech.utterance(text)):
            self._chunk += 1
            media = {
                "track": "inbound",
                "chunk": str(self._chunk),
                "timestamp": str(self._chunk * 20),
                "payload": base64.b64encode(frame).decode("ascii"),
            }
            await self._send(ws, "media", media=media)

    async def _stop(self, ws: ClientConnection) -> None:
        await self._send(ws, "stop", stop={"accountSid": self.account_sid, "callSid": self.call_sid})
        await ws.close()

    async def _send(self, ws: ClientConnection, event: str, **body: Any) -> None:
        self._sequence += 1
        await ws.send(
            json.dumps(
                {"event": event, "sequenceNumber": str(self._sequence), "streamSid": self.stream_sid, **body}
            )
        )
