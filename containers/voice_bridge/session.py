"""One call: the Twilio Media Stream and its OpenAI Realtime session, relayed both ways.

    Twilio ──media──▶ input_audio_buffer.append ──▶ Realtime
    Twilio ◀──media+mark── response.output_audio.delta ◀── Realtime

- **Trust**: the stream's `start` must carry a `token` signed for its `targetId` and CallSid
  (`shared.adapters.stream_tokens`, keyed with TWILIO_AUTH_TOKEN); anything else closes the socket.
- **Ready before the stream**: Twilio fetches the TwiML when the call is answered; the TwiML endpoint
  asks the bridge to prepare the call then (`POST /prepare`, the stream's own signed parameters), so
  the target, the conversation and the Realtime session are open before the stream starts
  (`prepare_call`, keyed by CallSid, adopted by the stream's `start`). Without that signal the stream
  prepares its call itself, the Realtime socket opening while the conversation is read.
- **Playback**: audio goes to Twilio in chunks of at least 40 ms (smaller frames play choppy on
  Twilio; the model's short deltas are joined, the rest flushed when its item ends), each followed by
  a mark; Twilio echoes a mark once the audio before it was played, so the bridge knows how much of
  each assistant item the caller heard (μ-law: bytes / 8 = ms).
- **Barge-in**: the caller speaking while audio is still queued → Twilio `clear`, the item truncated
  at what was played, the response cancelled if one is active, late deltas of that item dropped.
- **Tools**: the assistant's shared tools (`shared.assistant.tools.invoke`, in a worker thread so the
  relay never stalls), after the customer's words still being transcribed are stored (the identity
  check reads them); outputs go back as `function_call_output` and one `response.create` follows.
- **Keypad**: a CPF/CNPJ (check digits valid; ended by `#` or by its length, `*` starts over) or a
  DDMM date keyed on the phone (`keypad.Keypad`) is stored as the caller's words, read by the identity
  check like spoken ones, and given to the model as a note with the number in reading groups.
- **End**: Twilio's `stop`, either socket closing, the maximum duration, a shutdown, or the assistant's
  `encerrar_chamada` once its goodbye has played. When the bridge ends the call it hangs up through
  Twilio's REST API — unless the call goes on elsewhere, by a call update with new TwiML sent before
  the stream closes: the warm transfer's `<Dial>` once Lia's "I'm transferring you" has played
  (`shared.engine.warm_transfer`), or the keypad menu (`shared.engine.voice_menu`) when the Realtime
  session cannot open or drops in its first seconds before Lia said anything. The transcript (both
  sides) is stored as the conversation's voice messages, in conversation order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote

import websockets
from websockets.asyncio.client import ClientConnection

from containers.voice_bridge import realtime_codec as rt
from containers.voice_bridge import twilio_codec as tw
from containers.voice_bridge.settings import BridgeSettings
from containers.voice_bridge.spoken import digits_spoken
from containers.voice_bridge.voice_prompt import END_CALL, VOICE_TOOLS, realtime_tools, voice_instructions
from shared.adapters import clients, stream_tokens
from shared.adapters.twilio_voice import VoiceCaller
from shared.assistant.tools import ToolContext, invoke
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.domain.errors import DomainError
from shared.domain.ids import new_id
from shared.domain.keypad import Keypad, keyed_words
from shared.domain.models import Channel, Conversation, Message, Sender, Target
from shared.domain.phones import timezone_for_phone
from shared.engine import calls, voice_menu, warm_transfer
from shared.engine.conversations import open_conversation

ACTIVE_RESPONSE = "conversation_already_has_active_response"
INTERRUPTED_SUFFIX = " […]"  # an assistant sentence the caller cut off
# Twilio plays frames under 40 ms choppy: the model's audio is sent in chunks of at least this much.
MIN_PLAYBACK_BYTES = 40 * tw.MULAW_BYTES_PER_MS


class EndReason(StrEnum):
    REJECTED = "rejected"  # no valid start/token/target: the socket is closed, nothing else
    TWILIO_STOP = "twilio_stop"
    TWILIO_CLOSED = "twilio_closed"
    REALTIME_UNAVAILABLE = "realtime_unavailable"
    REALTIME_CLOSED = "realtime_closed"
    MAX_DURATION = "max_duration"
    ASSISTANT_ENDED = "assistant_ended"
    TRANSFERRED = "transferred"  # redirected to the desk's number (warm transfer)
    SHUTDOWN = "shutdown"


# Reasons where the caller's side is already gone: no hang-up needed.
_TWILIO_ENDED = frozenset({EndReason.REJECTED, EndReason.TWILIO_STOP, EndReason.TWILIO_CLOSED})


class TwilioClosed(Exception):
    """The Twilio websocket is gone."""


class TwilioLink(Protocol):
    """The Twilio side of a call (the server's accepted websocket)."""

    async def receive_text(self) -> str: ...  # raises TwilioClosed

    async def send_text(self, text: str) -> None: ...  # raises TwilioClosed

    async def close(self, code: int = 1000) -> None: ...


class Rejected(Exception):
    """The stream cannot be trusted or served."""


def verify_parameters(params: dict[str, str], call_sid: str) -> str:
    """The target id of a stream's (or a prepare request's) parameters once their token checks out
    for it and `call_sid`; `Rejected` otherwise."""
    target_id = params.get("targetId", "")
    secret = get_settings().twilio_auth_token
    if params.get("callSid") not in (None, call_sid):
        raise Rejected("callSid parameter does not match the stream")
    if not target_id or secret is None:
        raise Rejected("missing targetId or TWILIO_AUTH_TOKEN")
    if not stream_tokens.verify(params.get("token"), target_id, call_sid, secret.get_secret_value()):
        raise Rejected("invalid or expired token")
    return target_id


@dataclass
class PreparedCall:
    """A call ready to be served: its target, conversation, tool context and Realtime session (None
    when it could not open: the call then ends as `REALTIME_UNAVAILABLE`)."""

    call_sid: str
    target: Target
    conversation: Conversation
    ctx: ToolContext
    realtime: ClientConnection | None
    opened_at: float = field(default_factory=time.monotonic)

    async def discard(self) -> None:
        """Close the Realtime session of a call whose stream never came."""
        if self.realtime is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.realtime.close(), timeout=2)


# Given a CallSid, the preparation the TwiML endpoint started for it, if any (taken: used once).
PreparedLookup = Callable[[str], Awaitable[PreparedCall] | None]


async def prepare_call(settings: BridgeSettings, target_id: str, call_sid: str) -> PreparedCall:
    """Open what a call needs: the Realtime socket starts connecting at once, while the target, the
    conversation and its earlier messages are read; then the session is configured (`session.update`).
    `Rejected` for an unknown target."""
    connecting = asyncio.create_task(_connect_realtime(settings, call_sid))
    try:
        target = await asyncio.to_thread(_load_target, target_id)
        conversation = await asyncio.to_thread(
            open_conversation, Channel.VOICE, target.phone, target=target, call_sid=call_sid
        )
        earlier = await asyncio.to_thread(calls.transcript, conversation.id)
        recorded = await asyncio.to_thread(calls.recorded, target)
    except BaseException:
        connecting.cancel()
        with contextlib.suppress(BaseException):
            opened = await connecting
            await opened.close()
        raise
    ctx = ToolContext(
        conversation,
        target,
        Channel.VOICE,
        timezone_for_phone(conversation.phone),
        customer_words=[(m.created_at, m.content) for m in earlier if m.sender is Sender.CUSTOMER],
    )
    realtime: ClientConnection | None = None
    try:
        realtime = await connecting
        await realtime.send(
            rt.session_update(voice_instructions(ctx, recorded=recorded), realtime_tools(), settings.tuning)
        )
    except (OSError, TimeoutError, websockets.exceptions.WebSocketException, DomainError) as exc:
        logger.error("Realtime unavailable", call_sid=call_sid, error=type(exc).__name__)
        if realtime is not None:
            with contextlib.suppress(Exception):
                await realtime.close()
        realtime = None
    return PreparedCall(call_sid, target, conversation, ctx, realtime)


def _load_target(target_id: str) -> Target:
    target = calls.find_target(target_id)
    if target is None:
        raise Rejected("unknown target")
    return target


async def _connect_realtime(settings: BridgeSettings, call_sid: str) -> ClientConnection:
    config = get_settings()
    key = config.openai_api_key.get_secret_value() if config.openai_api_key else ""
    if not key:
        raise DomainError("OPENAI_API_KEY is not set")
    separator = "&" if "?" in config.openai_realtime_url else "?"
    url = f"{config.openai_realtime_url}{separator}model={quote(config.openai_realtime_model)}"
    return await websockets.connect(
        url,
        # The CallSid as OpenAI's client request id: a session can be traced to its call (and the
        # sandbox's Realtime simulator finds the call's conversation by it).
        additional_headers={"Authorization": f"Bearer {key}", "X-Client-Request-Id": call_sid},
        open_timeout=settings.realtime_connect_timeout_seconds,
        compression=None,  # μ-law does not compress; deflate would only cost CPU
        max_size=None,
    )


@dataclass
class _Slot:
    """Where a transcript goes in the conversation: reserved when its item appears."""

    message_id: str
    created_at: datetime


class CallSession:
    """One call, from Twilio's `start` to both sockets closed. Not shared between calls."""

    def __init__(
        self,
        twilio: TwilioLink,
        settings: BridgeSettings,
        *,
        voice: Callable[[], VoiceCaller] = clients.voice,
        prepared: PreparedLookup | None = None,
    ) -> None:
        self.settings = settings
        self._twilio = twilio
        self._voice = voice
        self._prepared = prepared
        self.call_sid: str | None = None
        self.stream_sid = ""
        self.conversation: Conversation | None = None
        self.reason: EndReason | None = None
        self._ended = asyncio.Event()
        self._realtime: ClientConnection | None = None
        self._ctx: ToolContext | None = None
        self._started = time.monotonic()
        # Realtime session state
        self._configured = False
        self._early_audio: deque[str] = deque(maxlen=settings.early_audio_frames or None)
        self._response_active = False
        self._response_requested = False
        self._response_wanted = False
        # Playback: audio not sent yet (under 40 ms) and its item; mark name -> (item id, bytes);
        # sent/played bytes per assistant item.
        self._pending_audio = bytearray()
        self._pending_item: str | None = None
        self._marks: dict[str, tuple[str, int]] = {}
        self._mark_seq = 0
        self._sent: dict[str, int] = {}
        self._played: dict[str, int] = {}
        self._playing_item: str | None = None
        self._truncated: set[str] = set()
        # Keypad
        self._keypad = Keypad()
        self._keyed = 0
        # Tools
        self._call_names: dict[str, str] = {}
        self._tools_running = 0
        self._tool_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._end_requested = False
        self._transfer_requested = False
        # Transcript
        self._slots: dict[str, _Slot] = {}
        self._partial: dict[str, list[str]] = {}
        self._transcribing: set[str] = set()
        self._transcripts_idle = asyncio.Event()
        self._transcripts_idle.set()
        self._writes: asyncio.Queue[tuple[Message, asyncio.Future[None]] | None] = asyncio.Queue()
        self._last_write: asyncio.Future[None] | None = None

    # ----------------------------------------------------------------------------------------------
    # The call
    # ----------------------------------------------------------------------------------------------

    async def run(self) -> EndReason:
        """Serve the call to its end; returns why it ended."""
        try:
            start = await self._handshake()
            prepared = await self._prepare(start)
        except Rejected as exc:
            logger.warning("media stream rejected", reason=str(exc), call_sid=self.call_sid)
            self.reason = EndReason.REJECTED
            await self._close_twilio(1008)
            return self.reason
        self.conversation = prepared.conversation
        writer = asyncio.create_task(self._writer())
        try:
            await self._serve(prepared)
        finally:
            await self._cleanup(writer)
        assert self.reason is not None
        return self.reason

    async def _prepare(self, start: tw.Start) -> PreparedCall:
        """The call prepared when its TwiML was fetched, else prepared now."""
        target_id = start.custom_parameters["targetId"]
        early = self._prepared(start.call_sid) if self._prepared is not None else None
        if early is not None:
            prepared = await early
            if prepared.target.id == target_id:
                logger.info(
                    "prepared call adopted",
                    call_sid=start.call_sid,
                    ready_ms=round((time.monotonic() - prepared.opened_at) * 1000),
                )
                return prepared
            await prepared.discard()
        return await prepare_call(self.settings, target_id, start.call_sid)

    def request_end(self, reason: EndReason) -> None:
        """End the call from outside (shutdown)."""
        self._finish(reason)

    async def _handshake(self) -> tw.Start:
        deadline = self.settings.start_timeout_seconds
        try:
            async with asyncio.timeout(deadline):
                while True:
                    frame = tw.parse(await self._twilio.receive_text())
                    if isinstance(frame, tw.Start):
                        break
                    if isinstance(frame, tw.Stop):
                        raise Rejected("stopped before start")
        except TimeoutError:
            raise Rejected("no start event") from None
        except TwilioClosed:
            raise Rejected("closed before start") from None
        except tw.TwilioProtocolError as exc:
            raise Rejected(f"bad frame before start: {exc}") from None
        self.call_sid, self.stream_sid = frame.call_sid, frame.stream_sid
        verify_parameters(frame.custom_parameters, frame.call_sid)
        return frame

    async def _serve(self, prepared: PreparedCall) -> None:
        self._ctx = prepared.ctx
        logger.info(
            "call started",
            call_sid=self.call_sid,
            conversation_id=prepared.conversation.id,
            target_id=prepared.target.id,
        )
        if prepared.realtime is None:
            self._finish(EndReason.REALTIME_UNAVAILABLE)
            return
        self._realtime = prepared.realtime
        pumps = [
            asyncio.create_task(self._twilio_pump(), name="twilio-pump"),
            asyncio.create_task(self._realtime_pump(), name="realtime-pump"),
        ]
        try:
            remaining = self.settings.max_call_seconds - (time.monotonic() - self._started)
            await asyncio.wait_for(self._ended.wait(), timeout=max(remaining, 0))
        except TimeoutError:
            self._finish(EndReason.MAX_DURATION)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    def _finish(self, reason: EndReason) -> None:
        if self.reason is None:
            self.reason = reason
            self._ended.set()

    async def _cleanup(self, writer: asyncio.Task[None]) -> None:
        reason = self.reason or EndReason.TWILIO_CLOSED
        self.reason = reason
        if self._realtime is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._realtime.close(), timeout=2)
        if reason not in _TWILIO_ENDED:
            redirected = await self._redirect(reason)  # before the stream closes: the call goes on
            await self._close_twilio(1000)
            if not redirected:
                await self._hang_up()
        if self._tasks:  # tools still running (a promise being written) finish first
            await asyncio.wait(self._tasks, timeout=10)
        for item_id, parts in list(self._partial.items()):
            if parts:
                self._store(item_id, Sender.ASSISTANT, "".join(parts) + INTERRUPTED_SUFFIX)
        self._partial.clear()
        await self._writes.put(None)
        await writer
        if self.conversation is not None:
            with contextlib.suppress(DomainError):
                await asyncio.to_thread(calls.call_ended, self.conversation.id)
        logger.info(
            "call ended",
            call_sid=self.call_sid,
            reason=reason.value,
            seconds=round(time.monotonic() - self._started, 1),
        )

    async def _hang_up(self) -> None:
        if not self.call_sid:
            return
        try:
            await asyncio.to_thread(lambda: self._voice().hang_up(self.call_sid or ""))
        except DomainError as exc:  # the call may be over already; Twilio ends it when the stream closes
            logger.warning("hang-up failed", call_sid=self.call_sid, error_code=exc.code)
        else:
            logger.info("call hung up by the bridge", call_sid=self.call_sid)

    def _continuation(self, reason: EndReason) -> Callable[[], str] | None:
        """The TwiML the call goes on with after the bridge lets it go, if any."""
        conversation = self.conversation
        if conversation is None or not self.call_sid:
            return None
        if reason is EndReason.TRANSFERRED:
            return lambda: warm_transfer.dial_twiml(conversation)
        early = time.monotonic() - self._started < self.settings.realtime_fallback_seconds
        if reason is EndReason.REALTIME_UNAVAILABLE or (
            reason is EndReason.REALTIME_CLOSED and early and not self._sent
        ):
            return lambda: voice_menu.start(conversation)
        return None

    async def _redirect(self, reason: EndReason) -> bool:
        """Update the live call with its continuation's TwiML; False when there is none or it failed."""
        continuation = self._continuation(reason)
        if continuation is None:
            return False
        call_sid = self.call_sid or ""
        try:
            twiml = await asyncio.to_thread(continuation)
            await asyncio.to_thread(lambda: self._voice().play_twiml(call_sid, twiml))
        except DomainError as exc:
            logger.warning("call not redirected: hanging up", call_sid=call_sid, error_code=exc.code)
            return False
        logger.info("call redirected by the bridge", call_sid=call_sid, reason=reason.value)
        return True

    async def _close_twilio(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self._twilio.close(code)

    # ----------------------------------------------------------------------------------------------
    # Twilio → Realtime
    # ----------------------------------------------------------------------------------------------

    async def _twilio_pump(self) -> None:
        try:
            while True:
                try:
                    frame = tw.parse(await self._twilio.receive_text())
                except tw.TwilioProtocolError as exc:
                    logger.warning("unreadable Twilio frame", call_sid=self.call_sid, error=str(exc))
                    continue
                if isinstance(frame, tw.Media):
                    if frame.track == "inbound":
                        await self._to_realtime_audio(frame.payload)
                elif isinstance(frame, tw.Mark):
                    self._on_mark(frame.name)
                elif isinstance(frame, tw.Stop):
                    self._finish(EndReason.TWILIO_STOP)
                    return
                elif isinstance(frame, tw.Dtmf):
                    await self._on_key(frame.digit)
        except TwilioClosed:
            self._finish(EndReason.TWILIO_CLOSED)
        except websockets.exceptions.ConnectionClosed:
            self._finish(EndReason.REALTIME_CLOSED)

    async def _to_realtime_audio(self, payload: str) -> None:
        if not self._configured:
            self._early_audio.append(payload)
            return
        assert self._realtime is not None
        await self._realtime.send(rt.input_audio_append(payload))

    async def _on_key(self, key: str) -> None:
        """A keypad digit; a finished entry becomes the customer's words (stored, and read by the
        identity check as a spoken document is) and a note for the assistant, who answers it."""
        entry = self._keypad.press(key)
        if entry is None or self._realtime is None:
            return
        said, note = keyed_words(entry)
        self._keyed += 1
        item_id = f"keypad_{self._keyed}"
        self._store(item_id, Sender.CUSTOMER, said)
        if self._ctx is not None and self._ctx.customer_words is not None:
            self._ctx.customer_words.append((clock.now(), said))
        logger.info("keypad entry", call_sid=self.call_sid, entry=type(entry).__name__)
        await self._realtime.send(rt.user_text(item_id, note))
        await self._request_response()

    def _on_mark(self, name: str) -> None:
        entry = self._marks.pop(name, None)
        if entry is None:  # a mark echoed after `clear`: that audio was never heard
            return
        item_id, size = entry
        self._played[item_id] = self._played.get(item_id, 0) + size
        self._maybe_hang_up_after_goodbye()

    # ----------------------------------------------------------------------------------------------
    # Realtime → Twilio
    # ----------------------------------------------------------------------------------------------

    async def _realtime_pump(self) -> None:
        assert self._realtime is not None
        try:
            async for raw in self._realtime:
                try:
                    event = rt.parse(raw)
                except rt.RealtimeProtocolError as exc:
                    logger.warning("unreadable Realtime event", call_sid=self.call_sid, error=str(exc))
                    continue
                await self._on_realtime(event)
        except websockets.exceptions.ConnectionClosed:
            pass
        except TwilioClosed:
            self._finish(EndReason.TWILIO_CLOSED)
            return
        logger.warning("Realtime closed the session", call_sid=self.call_sid)
        self._finish(EndReason.REALTIME_CLOSED)

    async def _on_realtime(self, event: rt.ServerEvent) -> None:
        if isinstance(event, rt.AudioDelta):
            await self._play(event.item_id, event.delta)
        elif isinstance(event, rt.AudioDone):
            if event.item_id == self._pending_item:
                await self._flush_audio()
        elif isinstance(event, rt.SpeechStarted):
            await self._barge_in()
        elif isinstance(event, rt.AudioTranscriptDelta):
            if event.item_id not in self._truncated:
                self._partial.setdefault(event.item_id, []).append(event.delta)
        elif isinstance(event, rt.AudioTranscriptDone):
            self._partial.pop(event.item_id, None)
            suffix = INTERRUPTED_SUFFIX if event.item_id in self._truncated else ""
            if event.transcript.strip():
                self._store(event.item_id, Sender.ASSISTANT, event.transcript.strip() + suffix)
        elif isinstance(event, rt.InputCommitted):
            self._reserve(event.item_id)
            self._transcribing.add(event.item_id)
            self._transcripts_idle.clear()
        elif isinstance(event, rt.InputTranscription):
            if event.transcript and event.transcript.strip():
                text = digits_spoken(event.transcript.strip())
                self._store(event.item_id, Sender.CUSTOMER, text)
                if self._ctx is not None and self._ctx.customer_words is not None:
                    self._ctx.customer_words.append((clock.now(), text))
            self._transcribing.discard(event.item_id)
            if not self._transcribing:
                self._transcripts_idle.set()
        elif isinstance(event, rt.OutputItemAdded):
            if event.item_type == "message":
                self._reserve(event.item_id)
            elif event.item_type == "function_call" and event.call_id and event.name:
                self._call_names[event.call_id] = event.name
        elif isinstance(event, rt.FunctionCallDone):
            self._start_tool(event)
        elif isinstance(event, rt.ResponseCreated):
            self._response_active, self._response_requested = True, False
        elif isinstance(event, rt.ResponseDone):
            await self._flush_audio()
            self._response_active = False
            if self._response_wanted and self._tools_running == 0:
                await self._request_response()
            self._maybe_hang_up_after_goodbye()
        elif isinstance(event, rt.SessionReady):
            if not event.created and not self._configured:
                await self._configured_now()
        elif isinstance(event, rt.ServerError):
            if event.code == ACTIVE_RESPONSE:
                # Our response.create raced the model's own: ask again once that one is done.
                self._response_requested, self._response_wanted = False, True
            else:
                logger.warning(
                    "Realtime error", call_sid=self.call_sid, code=event.code, message=event.message
                )

    async def _configured_now(self) -> None:
        """session.updated: flush the caller's early audio and let Lia speak first."""
        self._configured = True
        assert self._realtime is not None
        while self._early_audio:
            await self._realtime.send(rt.input_audio_append(self._early_audio.popleft()))
        await self._request_response()

    async def _play(self, item_id: str, delta: str) -> None:
        """Send the model's audio on, in chunks of at least `MIN_PLAYBACK_BYTES`: a delta that size or
        larger goes as it came (no decode); shorter ones are joined until the chunk is long enough."""
        if item_id in self._truncated:
            return  # the caller interrupted this item: its late audio is dropped
        if self._pending_item not in (None, item_id):
            await self._flush_audio()
        if not self._pending_audio and tw.payload_bytes(delta) >= MIN_PLAYBACK_BYTES:
            await self._send_chunk(item_id, delta)
            return
        self._pending_item = item_id
        self._pending_audio += base64.b64decode(delta)
        if len(self._pending_audio) >= MIN_PLAYBACK_BYTES:
            await self._flush_audio()

    async def _flush_audio(self) -> None:
        """Send the audio held back (its item ended, or another one began)."""
        item_id, audio = self._pending_item, bytes(self._pending_audio)
        self._pending_item = None
        self._pending_audio.clear()
        if item_id is not None and audio and item_id not in self._truncated:
            await self._send_chunk(item_id, base64.b64encode(audio).decode("ascii"))

    async def _send_chunk(self, item_id: str, payload: str) -> None:
        size = tw.payload_bytes(payload)
        self._mark_seq += 1
        name = f"{self._mark_seq}"
        self._marks[name] = (item_id, size)
        self._sent[item_id] = self._sent.get(item_id, 0) + size
        self._playing_item = item_id
        await self._send_twilio(tw.media(self.stream_sid, payload))
        await self._send_twilio(tw.mark(self.stream_sid, name))

    async def _barge_in(self) -> None:
        self._pending_audio.clear()  # under 40 ms the caller will never hear
        self._pending_item = None
        item_id = self._playing_item
        if not self._marks or item_id is None or item_id in self._truncated:
            return  # nothing is playing: the caller just speaks
        played_ms = self._played.get(item_id, 0) // tw.MULAW_BYTES_PER_MS
        sent_ms = self._sent.get(item_id, 0) // tw.MULAW_BYTES_PER_MS
        audio_end_ms = min(played_ms, sent_ms)
        self._truncated.add(item_id)
        self._marks.clear()
        await self._send_twilio(tw.clear(self.stream_sid))
        assert self._realtime is not None
        await self._realtime.send(rt.truncate(item_id, audio_end_ms))
        if self._response_active:
            await self._realtime.send(rt.response_cancel())
        logger.info("barge-in", call_sid=self.call_sid, audio_end_ms=audio_end_ms, sent_ms=sent_ms)

    async def _send_twilio(self, text: str) -> None:
        await self._twilio.send_text(text)

    async def _request_response(self) -> None:
        """One `response.create`, unless a response is active or tools are still running (then it
        is sent when they are done)."""
        if self._response_active or self._response_requested or self._tools_running:
            self._response_wanted = True
            return
        self._response_wanted = False
        self._response_requested = True
        assert self._realtime is not None
        await self._realtime.send(rt.response_create())

    # ----------------------------------------------------------------------------------------------
    # Tools
    # ----------------------------------------------------------------------------------------------

    def _start_tool(self, event: rt.FunctionCallDone) -> None:
        name = event.name or self._call_names.get(event.call_id) or ""
        self._tools_running += 1
        task = asyncio.create_task(self._run_tool(name, event.call_id, event.arguments))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_tool(self, name: str, call_id: str, arguments: str) -> None:
        ends_call = transfers = False
        try:
            # The identity check reads the customer's stored words: let the pending ones land first.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._transcripts_idle.wait(), self.settings.transcript_wait_seconds)
            if self._last_write is not None:
                await asyncio.shield(self._last_write)
            assert self._ctx is not None
            async with self._tool_lock:
                outcome = await asyncio.to_thread(invoke, name, arguments, self._ctx, VOICE_TOOLS)
            ends_call = outcome.ok and name == END_CALL
            transfers = (
                outcome.ok
                and name == warm_transfer.CALL_TRANSFER
                and outcome.data.get("transferencia") == warm_transfer.Route.DIAL
            )
            logger.info(
                "tool call", call_sid=self.call_sid, tool=name, ok=outcome.ok, error_code=outcome.error
            )
            if self._realtime is not None and self.reason is None:
                await self._realtime.send(rt.function_call_output(call_id, outcome.to_json()))
        except websockets.exceptions.ConnectionClosed:
            self._finish(EndReason.REALTIME_CLOSED)
        finally:
            self._tools_running -= 1
        if self.reason is not None:
            return
        if transfers:
            # Lia says she is transferring (the response below); once that has played, the call is
            # redirected to the desk (`_maybe_hang_up_after_goodbye`), at the latest after the grace.
            self._transfer_requested = True
            asyncio.get_running_loop().call_later(
                self.settings.goodbye_grace_seconds, self._finish, EndReason.TRANSFERRED
            )
        if ends_call:
            self._end_requested = True
            asyncio.get_running_loop().call_later(
                self.settings.goodbye_grace_seconds, self._finish, EndReason.ASSISTANT_ENDED
            )
            self._maybe_hang_up_after_goodbye()
        elif self._tools_running == 0 and not self._end_requested:
            try:
                await self._request_response()
            except websockets.exceptions.ConnectionClosed:
                self._finish(EndReason.REALTIME_CLOSED)

    def _maybe_hang_up_after_goodbye(self) -> None:
        if (
            (self._end_requested or self._transfer_requested)
            and not self._marks
            and not self._response_active
            and not self._response_requested
            and self._tools_running == 0
        ):
            self._finish(EndReason.TRANSFERRED if self._transfer_requested else EndReason.ASSISTANT_ENDED)

    # ----------------------------------------------------------------------------------------------
    # Transcript
    # ----------------------------------------------------------------------------------------------

    def _reserve(self, item_id: str) -> _Slot:
        slot = self._slots.get(item_id)
        if slot is None:
            slot = self._slots[item_id] = _Slot(new_id(), clock.now())
        return slot

    def _store(self, item_id: str, sender: Sender, text: str) -> None:
        """Queue a transcript line for storage at its item's place in the conversation."""
        if self.conversation is None:
            return
        slot = self._reserve(item_id)
        message = Message(
            id=slot.message_id,
            conversation_id=self.conversation.id,
            sender=sender,
            content=text,
            created_at=slot.created_at,
            channel=Channel.VOICE,
            external_id=f"{self.call_sid}:{item_id}",
        )
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last_write = future
        self._writes.put_nowait((message, future))

    async def _writer(self) -> None:
        """Store transcript lines one at a time, off the event loop."""
        while (job := await self._writes.get()) is not None:
            message, future = job
            try:
                await asyncio.to_thread(calls.record_line, message)
            except DomainError as exc:  # Conflict: already stored (a reconnected stream)
                logger.warning("transcript line not stored", call_sid=self.call_sid, error_code=exc.code)
            except Exception:
                logger.exception("transcript line not stored", call_sid=self.call_sid)
            finally:
                if not future.done():
                    future.set_result(None)
