"""Fixtures of the outreach-engine tests: moto (tables, the four work queues and their DLQs), the CRM,
Evolution API and Twilio REST simulators on loopback, and the settings pointing at them. See
engine_world.py for the `Engine` the tests drive.

The simulators' servers start once per process; every test gets fresh simulator objects behind them
(a tiny ASGI switch forwards to the current one), so no state or seeded randomness leaks between tests.
Clients get short timeouts (a simulated hang costs a fraction of a second, not the production 8-10 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from infra.local.simulators.crm import CrmSimulator
from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.server import serve_in_thread
from infra.local.simulators.twilio import TwilioSimulator
from shared.adapters import clients, promise_schedules, queues
from shared.adapters.crm import HttpCrmClient
from shared.adapters.evolution import EvolutionClient
from shared.adapters.twilio_voice import TwilioVoice
from shared.core import clock as clock_module
from shared.core.config import get_settings, reset_settings
from tests.integration.api.conftest import TOKENS, Api
from tests.integration.engine.engine_world import (
    BRIDGE_URL,
    COMPANY_CNPJ,
    CRM_KEY,
    EVOLUTION_INSTANCE,
    EVOLUTION_KEY,
    MAX_RECEIVES,
    QUEUES,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEBHOOK_BASE,
    Engine,
)
from tests.integration.engine.journeys import Checks

# Seconds. Short, so a simulated hang costs one second rather than production's 8-10 s; long enough that
# a loaded machine never times out a request the simulator did answer (that would be a real second send).
CLIENT_TIMEOUT = 1.0
HANG_SECONDS = 1.5  # how long the simulators hang when told to time out


class Switch:
    """An ASGI app forwarding to whichever simulator app is current."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def simulator_servers() -> Iterator[dict[str, tuple[Switch, str]]]:
    switches = {name: Switch() for name in ("crm", "evolution", "twilio")}
    servers = {name: serve_in_thread(switch) for name, switch in switches.items()}
    yield {name: (switches[name], servers[name].url) for name in switches}
    for server in servers.values():
        server.stop()


@pytest.fixture
def engine(
    tables: None,
    clock: clock_module.VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
    simulator_servers: dict[str, tuple[Switch, str]],
) -> Iterator[Engine]:
    crm = CrmSimulator(api_key=CRM_KEY, timeout_seconds=HANG_SECONDS)
    evolution = EvolutionSimulator(
        api_key=EVOLUTION_KEY, instance=EVOLUTION_INSTANCE, hang_seconds=HANG_SECONDS
    )
    twilio = TwilioSimulator(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN)
    for name, simulator in (("crm", crm), ("evolution", evolution), ("twilio", twilio)):
        simulator_servers[name][0].app = simulator.app
    sqs = _sqs_client()
    urls, arns, dlq_urls = {}, {}, {}
    for name in QUEUES:
        dlq_urls[name] = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_urls[name], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{MAX_RECEIVES}"}}'
        urls[name] = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive})["QueueUrl"]
        arns[name] = sqs.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    env = {
        "CRM_API_URL": simulator_servers["crm"][1],
        "CRM_API_KEY": CRM_KEY,
        "EVOLUTION_API_URL": simulator_servers["evolution"][1],
        "EVOLUTION_API_KEY": EVOLUTION_KEY,
        "EVOLUTION_API_INSTANCE": EVOLUTION_INSTANCE,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_PHONE_NUMBER": TWILIO_NUMBER,
        "TWILIO_API_BASE_URL": simulator_servers["twilio"][1],
        "WEBHOOK_BASE_URL": WEBHOOK_BASE,
        "VOICE_BRIDGE_WS_URL": BRIDGE_URL,
        "COMPANY_NAME": "TR Telecom",
        "COMPANY_CNPJ": COMPANY_CNPJ,
        # Pacing is tested on its own (test_engine_scheduler.py, test_engine_ratelimit.py): elsewhere the
        # channels are fast enough that no test waits for a send slot.
        "WHATSAPP_MESSAGES_PER_SECOND": "100",
        "VOICE_CALLS_PER_SECOND": "100",
        **{f"{name.upper()}_QUEUE_URL": url for name, url in urls.items()},
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("MAX_CONTACTS_PER_DAY", "MAX_CONTACTS_PER_WEEK", "ASSISTANT_NAME"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    queues.reset()
    clients.reset()
    clients.install(
        **_fast_adapters(
            simulator_servers["crm"][1], simulator_servers["evolution"][1], simulator_servers["twilio"][1]
        )
    )
    yield Engine(sqs, crm, evolution, twilio, urls, arns, dlq_urls, clock)
    clients.reset()
    queues.reset()
    reset_settings()


@lru_cache(maxsize=1)
def _sqs_client() -> Any:
    # Built once: moto intercepts every client while a mock is active, and a client costs ~50 ms.
    return boto3.client("sqs", region_name="sa-east-1")


@lru_cache(maxsize=1)
def _fast_adapters(crm_url: str, evolution_url: str, twilio_url: str) -> dict[str, Any]:
    """The real HTTP adapters, built from the settings, with test-sized timeouts (once per process:
    the simulators' addresses and the credentials never change)."""
    settings = get_settings()
    return {
        "crm": HttpCrmClient(settings.crm(), timeout=CLIENT_TIMEOUT),
        "whatsapp": EvolutionClient(settings.evolution(), timeout=CLIENT_TIMEOUT),
        "voice": TwilioVoice(settings.twilio(), WEBHOOK_BASE, timeout=5.0),
    }


@pytest.fixture
def checks() -> Iterator[Checks]:
    """The promise monitor's one-time schedules, kept for the test to fire on the virtual clock."""
    fake = Checks()
    previous = promise_schedules.set_scheduler(fake)
    yield fake
    promise_schedules.set_scheduler(previous)


@pytest.fixture
def api(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The dashboard's API over the engine's world, one bearer token per role."""
    monkeypatch.setenv("COBRANCA_API_TOKENS", ",".join(f"{role}:{token}" for role, token in TOKENS.items()))
    reset_settings()
    from functions.api.app import create_app

    with TestClient(create_app()) as client:
        yield Api(client, engine.urls["scheduler"])
