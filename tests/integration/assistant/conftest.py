"""The WhatsApp assistant's world: the API in-process (TestClient) over moto (tables, the FIFO inbound
queue, EventBridge Scheduler), and the CRM, Evolution and OpenAI simulators on loopback, started once
per process and reset per test. See assistant_world.py."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI
from pydantic import SecretStr

from infra.local.simulators.crm import CrmSimulator
from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.openai import OpenAISimulator
from infra.local.simulators.server import serve_in_thread
from shared.adapters import clients, promise_schedules, queues
from shared.adapters.crm import HttpCrmClient
from shared.adapters.evolution import EvolutionClient
from shared.core import clock as clock_module
from shared.core.config import CrmConfig, EvolutionConfig, reset_settings
from tests.integration.assistant.assistant_world import (
    CRM_KEY,
    EVOLUTION_KEY,
    GROUP,
    INSTANCE,
    OPENAI_KEY,
    WEBHOOK_TOKEN,
    Servers,
    World,
)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    sims = Servers(
        CrmSimulator(api_key=CRM_KEY, timeout_seconds=0.3),
        EvolutionSimulator(api_key=EVOLUTION_KEY, instance=INSTANCE, hang_seconds=0.3),
        OpenAISimulator(api_key=OPENAI_KEY),
        {},
    )
    for name, app in (("crm", sims.crm.app), ("evolution", sims.evolution.app), ("model", sims.model.app)):
        sims.running[name] = serve_in_thread(app)
    # Clients built once (an HTTP client's TLS setup costs tens of milliseconds), with no retries and
    # generous timeouts: a loaded CI machine must not turn a slow answer into a failure. The
    # simulators' hangs are short, and the model-hang test installs its own short-timeout client.
    sims.crm_client = HttpCrmClient(CrmConfig(sims.url("crm"), SecretStr(CRM_KEY)), timeout=5.0)
    sims.evolution_client = EvolutionClient(
        EvolutionConfig(sims.url("evolution"), SecretStr(EVOLUTION_KEY), INSTANCE), timeout=5.0
    )
    sims.model_client = OpenAI(
        api_key=OPENAI_KEY, base_url=sims.url("model") + "/v1", timeout=5.0, max_retries=0
    )
    sims.boto_session = boto3.session.Session()  # created after moto's import: its stubber is in
    yield sims
    for server in sims.running.values():
        server.stop()


@pytest.fixture
def world(
    tables: None, clock: clock_module.VirtualClock, monkeypatch: pytest.MonkeyPatch, servers: Servers
) -> Iterator[World]:
    servers.crm.customers.clear()
    servers.crm.queries.clear()
    servers.crm.outage = None
    servers.evolution.sent.clear()
    servers.evolution.sent_media.clear()
    servers.evolution.sent_templates.clear()
    servers.evolution.read.clear()
    servers.evolution.failure_rate = 0.0
    servers.evolution.not_on_whatsapp.clear()
    servers.model.reset()
    # moto resets boto3's default session per test; a process-wide one keeps its loaded service models.
    boto3.DEFAULT_SESSION = servers.boto_session
    sqs = boto3.client("sqs", region_name="sa-east-1")
    queue_url = sqs.create_queue(
        QueueName="inbound.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "60"}
    )["QueueUrl"]
    boto3.client("scheduler", region_name="sa-east-1").create_schedule_group(Name=GROUP)
    env = {
        "CRM_API_URL": servers.url("crm"),
        "CRM_API_KEY": CRM_KEY,
        "EVOLUTION_API_URL": servers.url("evolution"),
        "EVOLUTION_API_KEY": EVOLUTION_KEY,
        "EVOLUTION_API_INSTANCE": INSTANCE,
        "EVOLUTION_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": servers.url("model") + "/v1",
        "OPENAI_MODEL": "gpt-test",
        "INBOUND_QUEUE_URL": queue_url,
        "COMPANY_NAME": "TR Telecom",
        "COMPANY_CNPJ": "12.345.678/0001-95",
        "ASSISTANT_NAME": "Lia",
        "PIX_KEY": "cobranca@trtelecom.com.br",
        "PIX_MERCHANT_NAME": "TR Telecom Ltda",
        "PIX_MERCHANT_CITY": "São Paulo",
        "SCHEDULER_GROUP_NAME": GROUP,
        "PROMISE_MONITOR_QUEUE_ARN": "arn:aws:sqs:sa-east-1:123456789012:promise-monitor",
        "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler-to-monitor",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _reset()
    # No SDK retries: a failure in a test costs milliseconds, not seconds.
    clients.install(crm=servers.crm_client, whatsapp=servers.evolution_client, openai=servers.model_client)
    from functions.api.app import create_app

    with TestClient(create_app()) as api:
        yield World(servers.crm, servers.evolution, servers.model, api, queue_url, clock, sqs)
    _reset()


def _reset() -> None:
    reset_settings()
    queues.reset()
    promise_schedules.reset()
    clients.reset()
