"""Fixtures of the ERP adapters' contract tests: each ERP's loopback simulator, and a replay of the
responses recorded from the ERP reference (`recorded/<erp>/*.json`: status, content type, body). The
customer walks (test_erp_customer_walk.py) run in the outreach engine's world: its fixtures, as is."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from infra.local.simulators.ixc import IxcSimulator
from infra.local.simulators.server import serve_in_thread
from tests.integration.engine.conftest import engine, simulator_servers  # noqa: F401 (the engine's world)

RECORDED = Path(__file__).parent / "recorded"
SIM_HANG_SECONDS = 1.0
CLIENT_TIMEOUT = 0.3  # a simulated hang costs a fraction of a second


def recorded_response(erp: str, name: str) -> httpx.Response:
    """The response recorded in `recorded/<erp>/<name>.json`; a string body is sent as it is."""
    fixture = json.loads((RECORDED / erp / f"{name}.json").read_text(encoding="utf-8"))
    body = fixture["body"]
    content = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
    return httpx.Response(
        fixture["status"], content=content, headers={"content-type": fixture["content_type"]}
    )


@dataclass
class Replay:
    """An httpx transport answering each path with its recorded responses in order (the last one
    repeats); `TIMEOUT` in place of a name raises a read timeout. Keeps every request."""

    erp: str
    routes: dict[str, list[str]]
    requests: list[httpx.Request] = field(default_factory=list)

    TIMEOUT = "<timeout>"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.rsplit("/", 1)[-1]
        names = self.routes[path]
        name = names.pop(0) if len(names) > 1 else names[0]
        if name == self.TIMEOUT:
            raise httpx.ReadTimeout("timed out", request=request)
        return recorded_response(self.erp, name)

    def bodies(self, path: str) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith(f"/{path}")]

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


@pytest.fixture
def replay() -> Callable[..., Replay]:
    def build(erp: str, **routes: list[str]) -> Replay:
        return Replay(erp, {path: list(names) for path, names in routes.items()})

    return build


@pytest.fixture
def ixc_sim() -> Iterator[tuple[IxcSimulator, str]]:
    """A fresh IXC simulator on loopback, and its URL."""
    simulator = IxcSimulator(timeout_seconds=SIM_HANG_SECONDS)
    server = serve_in_thread(simulator.app)
    yield simulator, server.url
    server.stop()
