"""An OpenAI Chat Completions stand-in: `POST /v1/chat/completions` in the real wire format, so the
official SDK (pointed here through OPENAI_BASE_URL) cannot tell the difference.

Scriptable per test: queue answers with `script(...)` — `text(...)`, `tool_calls(call(...), ...)`,
`Failure(status)`, `Hang(seconds)`, `Malformed()` or a function of the request returning one of those —
or install a `responder` consulted when the queue is empty. Every request is recorded (`requests`,
parsed JSON) and the time spent answering is summed (`busy_seconds`, for benchmarks).

Unscripted, it answers 503 like an overloaded API (the local sandbox's default "model stand-in"): the
assistant's deterministic fallback dialogue then answers customers.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as the API sends it (may be deliberately malformed in tests)
    id: str = field(default_factory=lambda: "call_" + secrets.token_hex(12))


@dataclass(frozen=True)
class Completion:
    """A successful answer: text and/or tool calls."""

    content: str | None = None
    calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 120
    completion_tokens: int = 30


@dataclass(frozen=True)
class Failure:
    status: int = 500
    message: str = "The server had an error while processing your request."
    error_type: str = "server_error"
    code: str | None = None


@dataclass(frozen=True)
class Hang:
    """Sleep (past the client's timeout), then answer 504."""

    seconds: float = 30.0


@dataclass(frozen=True)
class Malformed:
    """A 200 whose body is not a chat completion."""

    body: str = '{"unexpected": true}'


Answer = Completion | Failure | Hang | Malformed
Responder = Callable[[dict[str, Any]], Answer]
Scripted = Answer | Responder


def text(content: str) -> Completion:
    return Completion(content=content)


def call(name: str, arguments: dict[str, Any] | str | None = None, **kwargs: Any) -> ToolCall:
    """A tool call; `arguments` as a dict (JSON-encoded here) or raw text, or as keyword arguments."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or kwargs, ensure_ascii=False)
    return ToolCall(name, raw)


def tool_calls(*calls: ToolCall, content: str | None = None) -> Completion:
    return Completion(content=content, calls=tuple(calls))


RATE_LIMITED = Failure(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded")
OVERLOADED = Failure(503, "The engine is currently overloaded, please try again later", "server_error")


class OpenAISimulator:
    def __init__(self, api_key: str = "sk-test-key", *, default: Answer = OVERLOADED) -> None:
        self.api_key = api_key
        self.default = default
        self.responder: Responder | None = None
        self.requests: list[dict[str, Any]] = []
        self.busy_seconds = 0.0
        self._queue: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self.app = self._build_app()

    def script(self, *answers: Scripted) -> None:
        """Queue answers for the next requests, in order (each answers one request)."""
        with self._lock:
            self._queue.extend(answers)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.responder = None
            self.busy_seconds = 0.0

    @property
    def pending(self) -> int:
        """Scripted answers not used yet."""
        with self._lock:
            return len(self._queue)

    def tool_results(self) -> list[dict[str, Any]]:
        """Every `tool` message the client sent back, parsed (`name` added from the matching call)."""
        names: dict[str, str] = {}
        results: list[dict[str, Any]] = []
        seen: set[str] = set()
        for request in self.requests:
            for message in request.get("messages", []):
                for made in message.get("tool_calls") or []:
                    names[made["id"]] = made["function"]["name"]
                if message.get("role") == "tool" and message["tool_call_id"] not in seen:
                    seen.add(message["tool_call_id"])
                    content = json.loads(message["content"])
                    results.append({"name": names.get(message["tool_call_id"]), **content})
        return results

    def _next(self, request: dict[str, Any]) -> Answer:
        with self._lock:
            scripted = self._queue.popleft() if self._queue else self.responder
        if scripted is None:
            return self.default
        if callable(scripted):
            return scripted(request)
        return scripted

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def completions(request: Request) -> Response:
            started = time.perf_counter()
            try:
                return await self._answer(request)
            finally:
                elapsed = time.perf_counter() - started
                with self._lock:
                    self.busy_seconds += elapsed

        return app

    async def _answer(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            return _error(400, "'model' and 'messages' are required.", "invalid_request_error")
        with self._lock:
            self.requests.append(body)
        answer = self._next(body)
        if isinstance(answer, Hang):
            await asyncio.sleep(answer.seconds)
            return _error(504, "Gateway timeout", "server_error")
        if isinstance(answer, Failure):
            return _error(answer.status, answer.message, answer.error_type, answer.code)
        if isinstance(answer, Malformed):
            return Response(answer.body, status_code=200, media_type="application/json")
        return JSONResponse(_completion(body, answer))


def _completion(request: dict[str, Any], answer: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
    if answer.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in answer.calls
        ]
    return {
        "id": "chatcmpl-" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request["model"],
        "system_fingerprint": "fp_simulator",
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if answer.calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        },
    }


def _error(status: int, message: str, error_type: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": error_type, "param": None, "code": code}},
        status_code=status,
    )
