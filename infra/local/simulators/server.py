"""Run an ASGI app on a loopback port in a background thread (tests and the sandbox)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

_client: httpx.Client | None = None
_client_lock = threading.Lock()


@dataclass
class RunningServer:
    url: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


def serve_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, ws: str = "auto") -> RunningServer:
    """Start `app` and return once it accepts connections; port 0 picks a free port."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", ws=ws)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True, name="sim-server")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("simulator server failed to start")
        time.sleep(0.005)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(url=f"http://{host}:{bound_port}", _server=server, _thread=thread)


def webhook_client() -> httpx.Client:
    """The one HTTP client the simulators post their webhooks with (thread-safe, connections kept
    alive). `httpx.post` would build a client — and its TLS context — per call: a fifth of the
    demo's time, for plain-HTTP loopback posts."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client()
        return _client
