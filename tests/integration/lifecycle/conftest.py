"""Fixtures of the after-contact lifecycle tests: moto (tables and EventBridge Scheduler), the CRM and
Twilio REST simulators on loopback, the settings pointing at them. See lifecycle_world.py."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from infra.local.simulators.crm import CrmSimulator
from infra.local.simulators.server import RunningServer, serve_in_thread
from infra.local.simulators.twilio import TwilioSimulator
from shared.adapters import clients, promise_schedules
from shared.core import clock as clock_module
from shared.core.config import reset_settings
from tests.integration.lifecycle.lifecycle_world import (
    CRM_KEY,
    GROUP,
    MONITOR_QUEUE_ARN,
    ROLE_ARN,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEBHOOK_BASE,
    Lifecycle,
)


@pytest.fixture(scope="session")
def crm_server() -> Iterator[tuple[CrmSimulator, RunningServer]]:
    simulator = CrmSimulator(api_key=CRM_KEY, timeout_seconds=0.5)
    server = serve_in_thread(simulator.app)
    yield simulator, server
    server.stop()


@pytest.fixture(scope="session")
def twilio_server() -> Iterator[tuple[TwilioSimulator, RunningServer]]:
    simulator = TwilioSimulator(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN)
    server = serve_in_thread(simulator.app)
    yield simulator, server
    server.stop()


@pytest.fixture
def world(
    tables: None,
    clock: clock_module.VirtualClock,
    monkeypatch: pytest.MonkeyPatch,
    crm_server: tuple[CrmSimulator, RunningServer],
    twilio_server: tuple[TwilioSimulator, RunningServer],
) -> Iterator[Lifecycle]:
    crm, crm_running = crm_server
    twilio, twilio_running = twilio_server
    crm.customers.clear()
    crm.queries.clear()
    crm.outage = None
    twilio.calls.clear()
    twilio.hangups.clear()
    twilio.twiml_updates.clear()
    env = {
        "CRM_API_URL": crm_running.url,
        "CRM_API_KEY": CRM_KEY,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_PHONE_NUMBER": "+551140028922",
        "TWILIO_API_BASE_URL": twilio_running.url,
        "WEBHOOK_BASE_URL": WEBHOOK_BASE,
        "SCHEDULER_GROUP_NAME": GROUP,
        "PROMISE_MONITOR_QUEUE_ARN": MONITOR_QUEUE_ARN,
        "SCHEDULER_ROLE_ARN": ROLE_ARN,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _reset_adapters()
    scheduler_client = boto3.client("scheduler")
    scheduler_client.create_schedule_group(Name=GROUP)  # the CDK app creates it
    # One client per test for the adapter and the test's own reads (a client costs ~50 ms to build);
    # test_promise_lifecycle.py also covers the adapter built from settings by `get_scheduler()`.
    promise_schedules.set_scheduler(
        promise_schedules.EventBridgePromiseScheduler(
            group_name=GROUP,
            queue_arn=MONITOR_QUEUE_ARN,
            role_arn=ROLE_ARN,
            scheduler_client=scheduler_client,
        )
    )
    yield Lifecycle(crm, twilio, clock, scheduler_client)
    _reset_adapters()


def _reset_adapters() -> None:
    reset_settings()
    promise_schedules.reset()
    clients.reset()
