"""Recorded ERP responses (`recorded/<system>/`, taken from the reference's captures and official
examples) replayed through httpx's `MockTransport`: the adapters' parsers meet the real shapes
without a network. A route answers `(status, fixture file)`, or `TIMEOUT` to raise a read timeout."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

RECORDED: Final = Path(__file__).parent / "recorded"
TIMEOUT: Final = (0, "timeout")


@dataclass
class Replay:
    system: str
    routes: dict[str, tuple[int, str]]  # request path -> (HTTP status, fixture file)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, name = self.routes[request.url.path]
        if (status, name) == TIMEOUT:
            raise httpx.ReadTimeout("recorded timeout", request=request)
        content = (RECORDED / self.system / name).read_bytes()
        kind = "text/html" if name.endswith(".html") else "application/json"
        return httpx.Response(status, content=content, headers={"content-type": kind})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self), timeout=1.0)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]
