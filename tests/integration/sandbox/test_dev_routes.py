"""`/api/dev/*` exists only where the sandbox mounts it; there it moves the virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from functions.api import errors
from functions.api.app import create_app
from infra.local.clock import SandboxClock
from infra.local.customers import Customers
from infra.local.dev_routes import dev_router
from infra.local.simulators.crm import CrmSimulator
from shared.core.config import reset_settings

START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TOKENS = "viewer:v-token,supervisor:s-token,admin:a-token"
SUPERVISOR = {"Authorization": "Bearer s-token"}


@pytest.fixture
def tokens(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COBRANCA_API_TOKENS", TOKENS)
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def sandbox_api(tokens: None) -> tuple[TestClient, SandboxClock]:
    clock = SandboxClock(START)
    sandbox = SimpleNamespace(
        clock=clock,
        settle=lambda timeout: True,
        simulators=SimpleNamespace(crm=None, evolution=None),
        customers=None,
    )
    app = FastAPI()
    errors.install(app)
    app.include_router(dev_router(sandbox))  # type: ignore[arg-type]
    return TestClient(app), clock


def test_the_deployed_api_has_no_dev_routes(tokens: None) -> None:
    client = TestClient(create_app())
    assert client.post("/api/dev/clock", json={"advance_minutes": 5}, headers=SUPERVISOR).status_code == 404
    assert client.get("/api/dev/clock", headers=SUPERVISOR).status_code == 404


def test_advance_minutes_moves_the_virtual_clock(sandbox_api: tuple[TestClient, SandboxClock]) -> None:
    client, clock = sandbox_api
    answer = client.post("/api/dev/clock", json={"advance_minutes": 90, "wait": True}, headers=SUPERVISOR)
    assert answer.status_code == 200, answer.text
    assert clock.now() == START + timedelta(minutes=90)
    body = answer.json()
    assert body["local"].startswith("2025-03-10T10:30:00") and body["local"].endswith("-03:00")
    assert body["settled"] is True


def test_to_jumps_to_an_instant_and_never_backwards(sandbox_api: tuple[TestClient, SandboxClock]) -> None:
    client, clock = sandbox_api
    moved = client.post("/api/dev/clock", json={"to": "2025-03-20T09:00:00-03:00"}, headers=SUPERVISOR)
    assert moved.status_code == 200
    assert clock.now() == datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
    back = client.post("/api/dev/clock", json={"to": "2025-03-19T09:00:00-03:00"}, headers=SUPERVISOR)
    assert back.status_code == 409
    assert clock.now() == datetime(2025, 3, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"advance_minutes": 5, "to": "2025-03-20T09:00:00-03:00"},
        {"advance_minutes": -1},
        {"to": "2025-03-20T09:00"},
    ],
)
def test_a_bad_clock_change_is_422_and_moves_nothing(
    sandbox_api: tuple[TestClient, SandboxClock], body: dict
) -> None:
    client, clock = sandbox_api
    assert client.post("/api/dev/clock", json=body, headers=SUPERVISOR).status_code == 422
    assert clock.now() == START


def test_the_clock_needs_a_supervisor(sandbox_api: tuple[TestClient, SandboxClock]) -> None:
    client, clock = sandbox_api
    assert client.post("/api/dev/clock", json={"advance_minutes": 5}).status_code == 401
    viewer = {"Authorization": "Bearer v-token"}
    assert client.post("/api/dev/clock", json={"advance_minutes": 5}, headers=viewer).status_code == 403
    assert clock.now() == START


def test_chatting_needs_the_simulated_whatsapp(sandbox_api: tuple[TestClient, SandboxClock]) -> None:
    client, _ = sandbox_api
    answer = client.post("/api/dev/whatsapp/5511987650000", json={"text": "Oi"}, headers=SUPERVISOR)
    assert answer.status_code == 409
    assert "EVOLUTION_API_URL" in answer.json()["detail"]


def test_a_simulated_customer_pays_at_the_bank_and_only_the_crm_shows_it(tokens: None) -> None:
    crm = CrmSimulator()
    simulators = SimpleNamespace(crm=crm, erp=None, evolution=None, twilio=None)
    sandbox = SimpleNamespace(simulators=simulators, customers=Customers(simulators))  # type: ignore[arg-type]
    added = sandbox.customers.add_manual("Bia Nova", "(21) 98888-1234", "111.444.777-35", Decimal("50.00"))
    app = FastAPI()
    errors.install(app)
    app.include_router(dev_router(sandbox))  # type: ignore[arg-type]
    client = TestClient(app)

    paid = client.post("/api/dev/customers/111.444.777-35/payment", headers=SUPERVISOR)
    assert paid.status_code == 200, paid.text
    assert Decimal(paid.json()["openTotal"]) == 0
    assert crm.customers[added.document].invoices == []
    assert client.post("/api/dev/customers/529.982.247-25/payment", headers=SUPERVISOR).status_code == 404
