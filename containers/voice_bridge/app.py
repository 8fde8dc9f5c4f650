"""The bridge's server: `/media` (Twilio Media Streams websocket, one `CallSession` per connection),
`/prepare` (the TwiML endpoint's signal that a call was answered: its stream's signed parameters as
JSON; the call is prepared at once and adopted by its stream, or closed after `prepare_ttl_seconds`)
and `/health`, on uvicorn, with a drain on SIGTERM.

Shutdown (ECS stops a task, or a deploy replaces it): stop listening, answer `/health` with 503, let
the live calls finish for up to `drain_seconds`, then end the ones left (each hung up through Twilio's
REST API) and exit. One process serves many calls; all per-call state lives in its session.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn
import uvloop
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from containers.voice_bridge.session import (
    CallSession,
    EndReason,
    PreparedCall,
    Rejected,
    TwilioClosed,
    prepare_call,
    verify_parameters,
)
from containers.voice_bridge.settings import BridgeSettings, get_bridge_settings
from shared.core.observability import logger

HEALTH_PATH = "/health"
MEDIA_PATH = "/media"
PREPARE_PATH = "/prepare"
TRY_AGAIN_LATER = 1013  # websocket close code: the bridge is draining
FORCED_END_SECONDS = 8.0  # calls ended at the drain deadline: time to hang up and store transcripts
# Twilio's frames are small (a `media` frame ~300 bytes, `start` a few KB): a larger one is closed
# by the server (1009) before it is buffered whole.
MAX_FRAME_BYTES = 64 * 1024


class StarletteTwilioLink:
    """A `TwilioLink` over Starlette's websocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def receive_text(self) -> str:
        try:
            message = await self._ws.receive()
        except (WebSocketDisconnect, RuntimeError) as exc:
            raise TwilioClosed from exc
        if message["type"] == "websocket.disconnect":
            raise TwilioClosed
        text = message.get("text")
        if text is None:
            data = message.get("bytes") or b""
            return data.decode("utf-8", errors="replace")
        return str(text)

    async def send_text(self, text: str) -> None:
        try:
            await self._ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            raise TwilioClosed from exc

    async def close(self, code: int = 1000) -> None:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await self._ws.close(code)


class _DrainingServer(uvicorn.Server):
    """uvicorn without its own signal handling: on SIGTERM it would close every websocket at once
    (code 1012); the bridge drains its calls first (`Bridge.begin_shutdown`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Bridge:
    """The websocket server and its live sessions."""

    def __init__(self, settings: BridgeSettings | None = None) -> None:
        self.settings = settings or get_bridge_settings()
        self.sessions: set[CallSession] = set()
        self.draining = False
        self._idle = asyncio.Event()  # set while no call is live
        self._idle.set()
        self._server: uvicorn.Server | None = None
        self._shutdown_task: asyncio.Task[None] | None = None
        # CallSid -> the call being prepared since its TwiML was fetched (taken by its stream).
        self._preparing: dict[str, asyncio.Task[PreparedCall]] = {}
        self.app = Starlette(
            routes=[
                Route(HEALTH_PATH, self._health, methods=["GET"]),
                Route(PREPARE_PATH, self._prepare, methods=["POST"]),
                WebSocketRoute(MEDIA_PATH, self._media),
            ]
        )

    @property
    def calls(self) -> int:
        """Live calls: sessions past the token check and serving a target. A socket that never sent a
        valid `start` (a scanner, a stranger, a stream being rejected) is not a call."""
        return sum(1 for session in self.sessions if session.conversation is not None)

    async def _health(self, request: Request) -> JSONResponse:
        if self.draining:
            return JSONResponse({"status": "draining", "calls": self.calls}, status_code=503)
        return JSONResponse({"status": "ok", "calls": self.calls})

    async def _media(self, websocket: WebSocket) -> None:
        if self.draining:
            await websocket.close(TRY_AGAIN_LATER)
            return
        await websocket.accept()
        session = CallSession(StarletteTwilioLink(websocket), self.settings, prepared=self._take_prepared)
        self.sessions.add(session)
        self._idle.clear()
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            if not self.sessions:
                self._idle.set()

    async def _prepare(self, request: Request) -> JSONResponse:
        if self.draining:
            return JSONResponse({"detail": "the bridge is draining"}, status_code=503)
        try:
            params = _PrepareRequest.model_validate_json(await request.body())
            target_id = verify_parameters(params.model_dump(by_alias=True), params.call_sid)
        except ValidationError:
            return JSONResponse({"detail": "expected JSON with targetId, callSid and token"}, status_code=400)
        except Rejected as exc:
            logger.warning("prepare refused", reason=str(exc), call_sid=params.call_sid)
            return JSONResponse({"detail": "invalid or expired token"}, status_code=403)
        if params.call_sid not in self._preparing:
            task = asyncio.get_running_loop().create_task(
                prepare_call(self.settings, target_id, params.call_sid)
            )
            self._preparing[params.call_sid] = task
            asyncio.get_running_loop().call_later(
                self.settings.prepare_ttl_seconds, self._expire, params.call_sid, task
            )
        return JSONResponse({"status": "preparing"}, status_code=202)

    def _take_prepared(self, call_sid: str) -> asyncio.Task[PreparedCall] | None:
        return self._preparing.pop(call_sid, None)

    def _expire(self, call_sid: str, task: asyncio.Task[PreparedCall]) -> None:
        """A prepared call whose stream never came: its Realtime session is closed."""
        if self._preparing.get(call_sid) is not task:
            return  # taken by its stream
        del self._preparing[call_sid]
        logger.warning("prepared call never streamed", call_sid=call_sid)
        task.add_done_callback(_discard_prepared)

    # ----------------------------------------------------------------------------------------------
    # Serving and draining
    # ----------------------------------------------------------------------------------------------

    async def serve(self, host: str | None = None, port: int | None = None, *, signals: bool = True) -> None:
        """Serve until shut down (SIGTERM/SIGINT when `signals`, or `begin_shutdown`)."""
        config = uvicorn.Config(
            self.app,
            host=host or self.settings.host,
            port=self.settings.port if port is None else port,
            lifespan="off",
            log_level="warning",
            # websockets' sans-I/O protocol, fed from the transport's callbacks: the legacy one reads
            # each frame in a task of its own (about 15% more of the bridge's CPU at 200 calls).
            ws="websockets-sansio",
            ws_per_message_deflate=False,
            ws_max_size=MAX_FRAME_BYTES,
            timeout_graceful_shutdown=5,
        )
        server = _DrainingServer(config)
        self._server = server
        if signals:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.begin_shutdown)
        await server.serve()
        if self._shutdown_task is not None:
            await self._shutdown_task

    @property
    def port(self) -> int | None:
        if self._server is None or not self._server.started:
            return None
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    def begin_shutdown(self) -> None:
        """Start draining (idempotent); the server exits once the calls are over."""
        if self._shutdown_task is None:
            self._shutdown_task = asyncio.get_running_loop().create_task(self._shutdown())

    async def _shutdown(self) -> None:
        self.draining = True
        server = self._server
        if server is not None:
            for listener in server.servers:
                listener.close()  # no new connections; live ones go on
        logger.info("draining voice calls", calls=len(self.sessions))
        await self.drain(self.settings.drain_seconds)
        if server is not None:
            server.should_exit = True

    async def drain(self, seconds: float) -> None:
        """Wait for the live calls to end, up to `seconds`; then end the ones left."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        if self.sessions:
            logger.warning("ending calls still live at shutdown", calls=len(self.sessions))
            for session in list(self.sessions):
                session.request_end(EndReason.SHUTDOWN)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FORCED_END_SECONDS):
                    await self._idle.wait()


class _PrepareRequest(BaseModel):
    """The stream's own parameters (`shared.engine.calls.call_twiml`), sent when the TwiML is fetched."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    target_id: str = Field(alias="targetId", min_length=1, max_length=64)
    call_sid: str = Field(alias="callSid", min_length=1, max_length=64)
    token: str = Field(min_length=1, max_length=256)


def _discard_prepared(task: asyncio.Task[PreparedCall]) -> None:
    if task.cancelled() or task.exception() is not None:
        return
    asyncio.get_running_loop().create_task(task.result().discard())


@dataclass
class RunningBridge:
    """A bridge serving in a background thread (tests, the local sandbox)."""

    bridge: Bridge
    url: str
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + MEDIA_PATH

    def shutdown(self, *, wait: bool = True, timeout: float = 30.0) -> None:
        """What SIGTERM does: drain, then exit."""
        self._loop.call_soon_threadsafe(self.bridge.begin_shutdown)
        if wait:
            self._thread.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def serve_in_thread(bridge: Bridge, *, host: str = "127.0.0.1", port: int = 0) -> RunningBridge:
    """Start `bridge` on a loopback port in a thread and return once it accepts connections."""
    loop = uvloop.new_event_loop()  # the loop the bridge's own process runs (`__main__`)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(bridge.serve(host, port, signals=False))
        loop.close()

    thread = threading.Thread(target=run, daemon=True, name="voice-bridge")
    thread.start()
    deadline = time.monotonic() + 10
    while bridge.port is None:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the voice bridge failed to start")
        time.sleep(0.005)
    return RunningBridge(bridge, f"http://{host}:{bridge.port}", loop, thread)
