"""The voice bridge's world: the bridge on a loopback port (its own thread and event loop), and its two
peers written here, speaking the real wire formats:

- `TwilioStream`: a Twilio Media Streams *client* — `connected`, `start` (customParameters targetId,
  callSid, token), 20 ms μ-law `media` frames (160 bytes, base64, with sequenceNumber and
  track/chunk/timestamp), echoes of the bridge's marks (at once, or when the test says the audio was
  played), marks echoed on `clear` as Twilio does, and `stop`;
- `FakeRealtime`: an OpenAI Realtime *server* (GA events) the test scripts event by event.

Plus moto (tables, EventBridge Scheduler for promises), the CRM simulator for the tools and the Twilio
REST simulator for hang-ups. Tests are coroutines run with `asyncio.run` on the test's thread; the
Realtime fake lives on that loop, the bridge on its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import boto3
import pytest
import websockets
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import Server, ServerConnection

from containers.voice_bridge.app import Bridge, RunningBridge, serve_in_thread
from containers.voice_bridge.settings import BridgeSettings
from infra.local.simulators import server as sim_server
from infra.local.simulators.crm import CrmSimulator, SimInvoice
from infra.local.simulators.twilio import TwilioSimulator
from shared.adapters import clients, promise_schedules, queues, stream_tokens
from shared.adapters.crm import HttpCrmClient
from shared.adapters.twilio_voice import TwilioVoice
from shared.core import clock as clock_module
from shared.core.config import CrmConfig, get_settings, reset_settings
from shared.data import targets as targets_data
from shared.domain.models import Channel, Target, TargetState

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-voice-token"
CRM_KEY = "crm-voice-key"
OPENAI_KEY = "sk-voice-test"
MODEL = "gpt-realtime-test"
GROUP = "cobranca-promises"
DOCUMENT = "52998224725"
OTHER_DOCUMENT = "11144477735"
PHONE = "5511999998888"
STEP = 2.0  # seconds any single expected event may take (a loaded CI machine; normally < 50 ms)


# --------------------------------------------------------------------------------------------------
# The fake Realtime server
# --------------------------------------------------------------------------------------------------


class RealtimePeer:
    """One Realtime session as the server sees it."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.path = ws.request.path if ws.request else ""
        self.headers = ws.request.headers if ws.request else {}
        self.received: list[dict[str, Any]] = []
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._seq = 0

    async def read(self) -> None:
        async for raw in self.ws:
            event = json.loads(raw)
            self.received.append(event)
            self._inbox.put_nowait(event)

    async def expect(self, kind: str, within: float = STEP) -> dict[str, Any]:
        """The next event of type `kind` (events before it are skipped; all are in `received`)."""
        async with asyncio.timeout(within):
            while True:
                event = await self._inbox.get()
                if event["type"] == kind:
                    return event

    async def send(self, kind: str, **fields: Any) -> None:
        self._seq += 1
        await self.ws.send(json.dumps({"type": kind, "event_id": f"event_{self._seq}", **fields}))

    def sent_types(self) -> list[str]:
        return [event["type"] for event in self.received]

    # GA server events ------------------------------------------------------------------------------

    async def ready(self) -> dict[str, Any]:
        """session.created, then the bridge's session.update answered with session.updated."""
        await self.send("session.created", session={"id": "sess_1", "type": "realtime"})
        update = await self.expect("session.update")
        await self.send("session.updated", session={**update["session"], "id": "sess_1"})
        return update

    async def response_created(self, response_id: str) -> None:
        await self.send(
            "response.created",
            response={"id": response_id, "object": "realtime.response", "status": "in_progress"},
        )

    async def item_added(
        self, response_id: str, item_id: str, item_type: str = "message", **item: Any
    ) -> None:
        body = {"id": item_id, "type": item_type, "object": "realtime.item", **item}
        if item_type == "message":
            body |= {"role": "assistant", "status": "in_progress", "content": []}
        await self.send("response.output_item.added", response_id=response_id, output_index=0, item=body)

    async def audio(self, response_id: str, item_id: str, chunk: bytes) -> None:
        await self.send(
            "response.output_audio.delta",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=base64.b64encode(chunk).decode(),
        )

    async def transcript_done(self, response_id: str, item_id: str, transcript: str) -> None:
        await self.send(
            "response.output_audio_transcript.done",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            content_index=0,
            transcript=transcript,
        )

    async def response_done(self, response_id: str, status: str = "completed") -> None:
        await self.send(
            "response.done", response={"id": response_id, "object": "realtime.response", "status": status}
        )

    async def say(self, response_id: str, item_id: str, text: str, chunks: list[bytes]) -> None:
        """A whole assistant turn: created, item, audio, transcript, done."""
        await self.response_created(response_id)
        await self.item_added(response_id, item_id)
        for chunk in chunks:
            await self.audio(response_id, item_id, chunk)
        await self.transcript_done(response_id, item_id, text)
        await self.response_done(response_id)

    async def customer_said(self, item_id: str, transcript: str) -> None:
        """The caller's turn: speech started, committed, transcribed."""
        await self.send("input_audio_buffer.speech_started", audio_start_ms=1000, item_id=item_id)
        await self.send("input_audio_buffer.speech_stopped", audio_end_ms=2000, item_id=item_id)
        await self.send("input_audio_buffer.committed", previous_item_id=None, item_id=item_id)
        await self.send(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=transcript,
        )

    async def function_call(
        self, response_id: str, call_id: str, name: str, arguments: dict[str, Any]
    ) -> None:
        item_id = f"item_{call_id}"
        await self.response_created(response_id)
        await self.item_added(
            response_id,
            item_id,
            "function_call",
            name=name,
            call_id=call_id,
            arguments="",
            status="in_progress",
        )
        await self.send(
            "response.function_call_arguments.done",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            call_id=call_id,
            name=name,
            arguments=json.dumps(arguments),
        )
        await self.response_done(response_id)

    async def tool_output(self, call_id: str) -> dict[str, Any]:
        """The bridge's function_call_output for `call_id`, parsed."""
        while True:
            event = await self.expect("conversation.item.create")
            if event["item"].get("call_id") == call_id:
                assert event["item"]["type"] == "function_call_output"
                return dict(json.loads(event["item"]["output"]))


class FakeRealtime:
    """The Realtime endpoint on loopback: `peer()` is the next session the bridge opened."""

    def __init__(self) -> None:
        self._server: Server | None = None
        self._peers: asyncio.Queue[RealtimePeer] = asyncio.Queue()
        self.sessions = 0
        self.url = ""

    async def __aenter__(self) -> FakeRealtime:
        self._server = await websockets.serve(self._handle, "127.0.0.1", 0, compression=None)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/v1/realtime"
        os.environ["OPENAI_REALTIME_URL"] = self.url  # restored by monkeypatch after the test
        reset_settings()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        self.sessions += 1
        peer = RealtimePeer(ws)
        self._peers.put_nowait(peer)
        await peer.read()

    async def peer(self, within: float = STEP) -> RealtimePeer:
        async with asyncio.timeout(within):
            return await self._peers.get()


# --------------------------------------------------------------------------------------------------
# The Twilio Media Streams client
# --------------------------------------------------------------------------------------------------


@dataclass
class TwilioStream:
    """Twilio's side of a `<Connect><Stream>`: what the bridge receives from a real call."""

    ws: ClientConnection
    call_sid: str
    stream_sid: str
    auto_play: bool = True  # echo each mark at once (the audio "played" instantly)
    received: list[dict[str, Any]] = field(default_factory=list)
    pending_marks: list[str] = field(default_factory=list)
    _inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _seq: int = 0
    _chunk: int = 0
    _reader: asyncio.Task[None] | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def open(
        cls,
        ws_url: str,
        *,
        call_sid: str,
        parameters: dict[str, str],
        auto_play: bool = True,
    ) -> TwilioStream:
        ws = await websockets.connect(ws_url, compression=None)
        stream = cls(ws, call_sid, "MZ" + call_sid[2:], auto_play)
        stream._reader = asyncio.create_task(stream._read())
        await stream._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        await stream._send(
            {
                "event": "start",
                "start": {
                    "accountSid": TWILIO_SID,
                    "streamSid": stream.stream_sid,
                    "callSid": call_sid,
                    "tracks": ["inbound"],
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                    "customParameters": parameters,
                },
                "streamSid": stream.stream_sid,
            }
        )
        return stream

    async def _send(self, message: dict[str, Any]) -> None:
        if message["event"] != "connected":
            self._seq += 1
            message["sequenceNumber"] = str(self._seq)
        await self.ws.send(json.dumps(message))

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                self.received.append(message)
                if message["event"] == "mark":
                    self.pending_marks.append(message["mark"]["name"])
                    if self.auto_play:
                        await self.play()
                elif message["event"] == "clear":
                    # Twilio empties its buffer and echoes the marks it will never reach.
                    await self.play()
                self._inbox.put_nowait(message)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def media(self, payload: bytes) -> None:
        """One inbound frame (20 ms of μ-law = 160 bytes)."""
        self._chunk += 1
        await self._send(
            {
                "event": "media",
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(self._chunk * 20),
                    "payload": base64.b64encode(payload).decode(),
                },
            }
        )

    async def play(self, count: int | None = None) -> None:
        """Echo the first `count` pending marks (all by default): that audio has been played."""
        take = len(self.pending_marks) if count is None else count
        names, self.pending_marks = self.pending_marks[:take], self.pending_marks[take:]
        for name in names:
            await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    async def dtmf(self, keys: str) -> None:
        """Keypad presses, one `dtmf` event each, as Twilio sends them."""
        for key in keys:
            await self._send(
                {
                    "event": "dtmf",
                    "streamSid": self.stream_sid,
                    "dtmf": {"track": "inbound_track", "digit": key},
                }
            )

    async def stop(self) -> None:
        await self._send(
            {
                "event": "stop",
                "streamSid": self.stream_sid,
                "stop": {"accountSid": TWILIO_SID, "callSid": self.call_sid},
            }
        )

    async def expect(self, event: str, within: float = STEP) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                message = await self._inbox.get()
                if message["event"] == event:
                    return message

    async def wait_closed(self, within: float = STEP) -> int | None:
        """Wait for the bridge to close the socket; the close code."""
        async with asyncio.timeout(within):
            await self.closed.wait()
        return self.ws.close_code

    def media_payloads(self) -> list[bytes]:
        return [base64.b64decode(m["media"]["payload"]) for m in self.received if m["event"] == "media"]


# --------------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------------


@dataclass
class Servers:
    crm: CrmSimulator
    twilio: TwilioSimulator
    running: dict[str, sim_server.RunningServer]
    boto_session: Any = None
    dialer: TwilioVoice | None = None

    def url(self, name: str) -> str:
        return self.running[name].url


@dataclass
class VoiceWorld:
    servers: Servers
    clock: clock_module.VirtualClock
    make_bridge: Callable[..., RunningBridge]
    target: Target
    call_sid: str
    bridges: list[RunningBridge]

    @property
    def crm(self) -> CrmSimulator:
        return self.servers.crm

    @property
    def twilio(self) -> TwilioSimulator:
        return self.servers.twilio

    def parameters(self, **overrides: str) -> dict[str, str]:
        token = stream_tokens.sign(self.target.id, self.call_sid, TWILIO_TOKEN)
        return {"targetId": self.target.id, "callSid": self.call_sid, "token": token} | overrides

    async def settled(self, within: float = STEP) -> None:
        """Wait until every bridge of the test has finished its calls (transcripts stored, hang-ups done)."""
        async with asyncio.timeout(within):
            # The bridges run on their own threads and loops: polling is the simple cross-thread wait.
            while any(running.bridge.sessions for running in self.bridges):  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    async def call(self, bridge: RunningBridge, *, auto_play: bool = True, **overrides: str) -> TwilioStream:
        return await TwilioStream.open(
            bridge.ws_url,
            call_sid=self.call_sid,
            parameters=self.parameters(**overrides),
            auto_play=auto_play,
        )


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    sims = Servers(
        CrmSimulator(api_key=CRM_KEY, timeout_seconds=0.3),
        TwilioSimulator(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN),
        {},
    )
    sims.running["crm"] = sim_server.serve_in_thread(sims.crm.app)
    sims.running["twilio"] = sim_server.serve_in_thread(sims.twilio.app)
    sims.boto_session = boto3.session.Session()  # loaded service models, reused by every test
    yield sims
    for running in sims.running.values():
        running.stop()


@pytest.fixture
def voice(
    tables: None,
    clock: clock_module.VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
    servers: Servers,
    make_target: Callable[..., Target],
) -> Iterator[VoiceWorld]:
    servers.crm.customers.clear()
    servers.crm.queries.clear()
    servers.crm.outage = None
    servers.twilio.calls.clear()
    servers.twilio.hangups.clear()
    servers.twilio.twiml_updates.clear()
    servers.twilio.dials.clear()
    servers.twilio.dial_outcome = "completed"
    servers.crm.add_customer(
        DOCUMENT,
        "Maria Silva",
        [SimInvoice("F-1", Decimal("179.80"), date(2025, 2, 10), 28, pix_copia_cola="00020126pix")],
    )
    boto3.DEFAULT_SESSION = servers.boto_session
    boto3.client("scheduler", region_name="sa-east-1").create_schedule_group(Name=GROUP)
    env = {
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_PHONE_NUMBER": "+5511400000000",
        "TWILIO_API_BASE_URL": servers.url("twilio"),
        "WEBHOOK_BASE_URL": "https://cobranca.example.com",
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_REALTIME_MODEL": MODEL,
        "OPENAI_REALTIME_URL": "ws://127.0.0.1:9/unused",
        "CRM_API_URL": servers.url("crm"),
        "CRM_API_KEY": CRM_KEY,
        "COMPANY_NAME": "TR Telecom",
        "COMPANY_CNPJ": "12.345.678/0001-95",
        "ASSISTANT_NAME": "Lia",
        "SCHEDULER_GROUP_NAME": GROUP,
        "PROMISE_MONITOR_QUEUE_ARN": "arn:aws:sqs:sa-east-1:123456789012:promise-monitor",
        "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler-to-monitor",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _reset()
    clients.install(crm=HttpCrmClient(CrmConfig(servers.url("crm"), SecretStr(CRM_KEY)), timeout=2.0))
    # The dialer placed the call: Twilio knows it (so it can be hung up), the target is `calling`.
    created, _ = targets_data.insert_new([make_target(campaign_id="C-VOZ", phone=PHONE, document=DOCUMENT)])
    if servers.dialer is None:
        servers.dialer = TwilioVoice(get_settings().twilio(), "https://cobranca.example.com")
    call_sid = servers.dialer.place_call(created[0].id, PHONE)
    target = targets_data.transition(
        created[0].id, (TargetState.PENDING,), TargetState.CALLING, call_sid=call_sid, channel=Channel.VOICE
    )
    bridges: list[RunningBridge] = []

    def make_bridge(**settings: Any) -> RunningBridge:
        defaults: dict[str, Any] = {
            "start_timeout_seconds": 1.0,
            "realtime_connect_timeout_seconds": 1.0,
            "transcript_wait_seconds": 0.5,
            "goodbye_grace_seconds": 2.0,
            "drain_seconds": 2.0,
        }
        running = serve_in_thread(Bridge(BridgeSettings(**(defaults | settings))))
        bridges.append(running)
        return running

    yield VoiceWorld(servers, clock, make_bridge, target, call_sid, bridges)
    for running in bridges:
        if running.join(0):
            continue
        running.shutdown(timeout=10)
    _reset()


def _reset() -> None:
    reset_settings()
    queues.reset()
    promise_schedules.reset()
    clients.reset()
