"""An OpenAI Realtime (GA) stand-in for the sandbox's calls: a websocket server at
`/v1/realtime?model=…` that speaks the GA event flow to the voice bridge, its voice driven by the
assistant's deterministic dialogue (`shared.assistant.fallback.respond`, the WhatsApp fallback's own).

- `session.created` on connect; `session.update` answered with `session.updated`.
- Server VAD on the caller's audio (`speech.Listener`): `input_audio_buffer.speech_started`,
  `speech_stopped`, `committed`, then `conversation.item.input_audio_transcription.completed` with what
  was said, and a response (`create_response`).
- A response: `response.created`, then the dialogue's turn. Each tool the dialogue runs becomes a
  `function_call` item (`response.output_item.added`, `response.function_call_arguments.done`) and the
  response ends (`response.done`); the bridge runs the tool, sends `function_call_output` and
  `response.create`, and the turn goes on in a new response with the tool's output. The turn's answer
  is an assistant `message`: `response.output_audio.delta`s (the words as `speech` audio),
  `response.output_audio.done`, `response.output_audio_transcript.done`, `response.done`.
- Keyed digits (`conversation.item.create` of a user `input_text`) count as the caller's words.

The dialogue needs the call's conversation and target: the session's `X-Client-Request-Id` is the
CallSid (the bridge sends it), and the conversation is the call's (`voice_chat_id`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.server import Server, ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from infra.local.simulators import speech
from shared.assistant import fallback
from shared.assistant.tools import ToolContext, ToolOutcome
from shared.core import clock
from shared.data import conversations
from shared.domain.chat_ids import voice_chat_id
from shared.domain.ids import new_id
from shared.domain.models import Channel, Message, Sender

DELTA_BYTES = 800  # 100 ms of μ-law per audio delta
TOOL_TIMEOUT_SECONDS = 30.0


@dataclass
class _Session:
    """One Realtime session: the call it serves and the conversation as the model heard it."""

    ws: ServerConnection
    call_sid: str
    history: list[Message] = field(default_factory=list)
    listener: speech.Listener = field(default_factory=speech.Listener)
    turn: asyncio.Task[None] | None = None
    again: bool = False  # the caller spoke while a turn was running: answer once it is done
    response_id: str = ""
    # A tool call waiting for the bridge: its output, then the bridge's `response.create`.
    output: asyncio.Future[str] | None = None
    resumed: asyncio.Future[None] | None = None
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids)}"


class RealtimeSimulator:
    def __init__(self, api_key: str = "sk-test-key") -> None:
        self.api_key = api_key
        self.sessions = 0
        self.errors: list[str] = []  # turns that failed (the sandbox reports them)
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # --- serving ---------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1") -> RealtimeSimulator:
        """Serve on a loopback port in a thread of its own; `url` is the Realtime URL to use."""
        ready = threading.Event()

        async def listen() -> Server:
            return await websockets.serve(
                self._handle, host, 0, compression=None, max_size=None, process_request=self._authorize
            )

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(listen())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="realtime-sim")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the Realtime simulator failed to start")
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://{host}:{port}/v1/realtime"
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        server = self._server

        async def close() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._server = None

    def _authorize(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            body = b'{"error":{"type":"invalid_request_error","code":"invalid_api_key"}}'
            return Response(401, "Unauthorized", Headers({"Content-Type": "application/json"}), body)
        return None

    # --- one session -----------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        self.sessions += 1
        assert ws.request is not None
        session = _Session(ws, ws.request.headers.get("X-Client-Request-Id", ""))
        await self._send(session, "session.created", session={"id": "sess_" + new_id(), "type": "realtime"})
        try:
            async for raw in ws:
                await self._on_event(session, json.loads(raw))
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if session.turn is not None:
                session.turn.cancel()

    async def _on_event(self, session: _Session, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "input_audio_buffer.append":
            await self._hear(session, base64.b64decode(event["audio"]))
        elif kind == "response.create":
            if session.resumed is not None and not session.resumed.done():
                session.resumed.set_result(None)  # the turn goes on after its tool call
            else:
                self._start_turn(session)
        elif kind == "conversation.item.create":
            item = event.get("item") or {}
            if item.get("type") == "function_call_output" and session.output is not None:
                if not session.output.done():
                    session.output.set_result(str(item.get("output") or "{}"))
            elif item.get("type") == "message" and item.get("role") == "user":
                text = " ".join(part.get("text", "") for part in item.get("content") or [])
                self._remember(session, Sender.CUSTOMER, text)
        elif kind == "session.update":
            await self._send(session, "session.updated", session=event.get("session") or {})

    async def _hear(self, session: _Session, audio: bytes) -> None:
        """Server VAD and transcription on the caller's audio; a finished utterance gets a response."""
        was_speaking = session.listener.speaking
        heard = session.listener.feed(audio)
        if not was_speaking and (session.listener.speaking or heard):
            await self._send(session, "input_audio_buffer.speech_started", audio_start_ms=0, item_id="")
        for text in heard:
            item_id = session.next_id("item_user")
            await self._send(session, "input_audio_buffer.speech_stopped", audio_end_ms=0, item_id=item_id)
            await self._send(session, "input_audio_buffer.committed", previous_item_id=None, item_id=item_id)
            await self._send(
                session,
                "conversation.item.input_audio_transcription.completed",
                item_id=item_id,
                content_index=0,
                transcript=text,
            )
            self._remember(session, Sender.CUSTOMER, text)
            self._start_turn(session)

    # --- a response ------------------------------------------------------------------------------

    def _start_turn(self, session: _Session) -> None:
        if session.turn is not None and not session.turn.done():
            session.again = True
            return
        session.turn = asyncio.get_running_loop().create_task(self._turn(session))
        session.turn.add_done_callback(lambda turn: self._turn_over(session, turn))

    def _turn_over(self, session: _Session, turn: asyncio.Task[None]) -> None:
        if not turn.cancelled() and turn.exception() is not None:
            self.errors.append(f"call {session.call_sid}: {turn.exception()!r}")
        if session.again:
            session.again = False
            self._start_turn(session)

    async def _turn(self, session: _Session) -> None:
        """The dialogue's answer to the conversation so far, spoken; its tools asked of the bridge."""
        loop = asyncio.get_running_loop()
        await self._response_created(session)

        def act(name: str, arguments: Mapping[str, Any], ctx: ToolContext) -> ToolOutcome:
            future = asyncio.run_coroutine_threadsafe(self._tool_call(session, name, arguments), loop)
            return future.result(TOOL_TIMEOUT_SECONDS + 5)

        ctx = await asyncio.to_thread(self._context, session)
        history = list(session.history)
        answer = await asyncio.to_thread(fallback.respond, ctx, history, act=act)
        await self._say(session, answer)

    def _context(self, session: _Session) -> ToolContext:
        conversation = conversations.by_chat_id(voice_chat_id(session.call_sid))
        if conversation is None:
            raise RuntimeError(f"no conversation for call {session.call_sid}")
        return ToolContext.for_conversation(conversation, Channel.VOICE)

    async def _tool_call(self, session: _Session, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        item_id, call_id = session.next_id("item_call"), session.next_id("call")
        loop = asyncio.get_running_loop()
        session.output, session.resumed = loop.create_future(), loop.create_future()
        await self._send(
            session,
            "response.output_item.added",
            response_id=session.response_id,
            output_index=0,
            item={"id": item_id, "type": "function_call", "name": name, "call_id": call_id, "arguments": ""},
        )
        await self._send(
            session,
            "response.function_call_arguments.done",
            response_id=session.response_id,
            item_id=item_id,
            output_index=0,
            call_id=call_id,
            name=name,
            arguments=json.dumps(dict(arguments), ensure_ascii=False, default=str),
        )
        await self._response_done(session)
        async with asyncio.timeout(TOOL_TIMEOUT_SECONDS):
            output = await session.output
            await session.resumed
        session.output = session.resumed = None
        await self._response_created(session)
        data = json.loads(output)
        error = data.get("erro") if isinstance(data, dict) else None
        return ToolOutcome(name, error is None, data if isinstance(data, dict) else {}, error)

    async def _say(self, session: _Session, text: str) -> None:
        item_id = session.next_id("item_assistant")
        response_id = session.response_id
        await self._send(
            session,
            "response.output_item.added",
            response_id=response_id,
            output_index=0,
            item={
                "id": item_id,
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        )
        audio = speech.utterance(text)
        for at in range(0, len(audio), DELTA_BYTES):
            chunk = base64.b64encode(audio[at : at + DELTA_BYTES]).decode("ascii")
            await self._send(
                session,
                "response.output_audio.delta",
                response_id=response_id,
                item_id=item_id,
                output_index=0,
                content_index=0,
                delta=chunk,
            )
        await self._send(session, "response.output_audio.done", response_id=response_id, item_id=item_id)
        await self._send(
            session,
            "response.output_audio_transcript.done",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            content_index=0,
            transcript=text,
        )
        self._remember(session, Sender.ASSISTANT, text)
        await self._response_done(session)

    async def _response_created(self, session: _Session) -> None:
        session.response_id = session.next_id("resp")
        await self._send(
            session,
            "response.created",
            response={"id": session.response_id, "object": "realtime.response", "status": "in_progress"},
        )

    async def _response_done(self, session: _Session) -> None:
        await self._send(
            session,
            "response.done",
            response={"id": session.response_id, "object": "realtime.response", "status": "completed"},
        )

    # --- plumbing --------------------------------------------------------------------------------

    def _remember(self, session: _Session, sender: Sender, text: str) -> None:
        session.history.append(
            Message(
                id=new_id(),
                conversation_id=session.call_sid,
                sender=sender,
                content=text,
                created_at=clock.now(),
                channel=Channel.VOICE,
            )
        )

    async def _send(self, session: _Session, kind: str, /, **fields: Any) -> None:
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            await session.ws.send(
                json.dumps({"type": kind, "event_id": session.next_id("event"), **fields}, ensure_ascii=False)
            )
