"""The world of the lifecycle tests (imported by conftest.py and the tests): the CRM and Twilio REST
simulators run once per process (state reset per test); EventBridge Scheduler is moto's, which stores schedules but
never fires them, so `Lifecycle.fire_due_schedules()` does what EventBridge would: every stored schedule
whose `at(...)` time has passed on the virtual clock is delivered to the promise-monitor handler as an
SQS record carrying the schedule's `Input`, then deleted (`ActionAfterCompletion=DELETE`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from functions.post_call import handler as post_call
from functions.promise_monitor import handler as promise_monitor
from infra.local.simulators.crm import CrmSimulator, SimInvoice
from infra.local.simulators.twilio import SimCall, TwilioSimulator
from shared.adapters.twilio_voice import TwilioVoice
from shared.core import clock as clock_module
from shared.core.config import get_settings
from shared.data import campaigns as campaigns_data
from shared.data import targets as targets_data
from shared.domain.ids import new_id, target_id
from shared.domain.models import Campaign, Channel, Invoice, Target, TargetState

CRM_KEY = "crm-lifecycle-key"
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-lifecycle-token"
GROUP = "cobranca-promises"
MONITOR_QUEUE_ARN = "arn:aws:sqs:sa-east-1:123456789012:promise-monitor"
ROLE_ARN = "arn:aws:iam::123456789012:role/scheduler-to-monitor"
WEBHOOK_BASE = "https://cobranca.example.test"
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")


class FakeContext:
    function_name = "lifecycle"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:sa-east-1:123456789012:function:lifecycle"
    aws_request_id = "req-lifecycle"


def sqs_event(*bodies: str | dict[str, Any]) -> dict[str, Any]:
    """An SQS event as Lambda delivers it, one record per body (dicts are sent as JSON)."""
    records = []
    for index, body in enumerate(bodies):
        text = body if isinstance(body, str) else json.dumps(body)
        records.append(
            {
                "messageId": f"msg-{index}-{new_id()}",
                "receiptHandle": f"rh-{index}",
                "body": text,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1741608000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1741608000001",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:sa-east-1:123456789012:lifecycle",
                "awsRegion": "sa-east-1",
            }
        )
    return {"Records": records}


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


@dataclass
class StoredSchedule:
    name: str
    at: datetime  # aware, from the `at(...)` expression read in its own zone
    raw: dict[str, Any]

    @property
    def input(self) -> dict[str, Any]:
        return dict(json.loads(self.raw["Target"]["Input"]))


class Lifecycle:
    """The world of one test: simulators, moto's scheduler, and shortcuts to drive the handlers."""

    def __init__(
        self,
        crm: CrmSimulator,
        twilio: TwilioSimulator,
        clock: clock_module.VirtualClock,
        scheduler_client: Any,
    ):
        self.crm = crm
        self.twilio = twilio
        self.clock = clock
        self.scheduler = scheduler_client
        self.fired: list[str] = []

    # --- data ----------------------------------------------------------------------------------------

    def campaign(self, **overrides: Any) -> Campaign:
        now = clock_module.now()
        fields: dict[str, Any] = {
            "id": new_id(),
            "name": "Março",
            "contact_method": "whatsapp_fallback",
            "allowed_methods": [Channel.VOICE, Channel.WHATSAPP],
            "fallback_order": [Channel.VOICE, Channel.WHATSAPP],
            "max_attempts_per_channel": 3,
            "created_at": now,
            "updated_at": now,
        }
        return campaigns_data.create(Campaign(**(fields | overrides)))

    def target(self, campaign: Campaign, **overrides: Any) -> Target:
        now = clock_module.now()
        fields: dict[str, Any] = {
            "campaign_id": campaign.id,
            "client_name": "Maria Silva",
            "phone": "5511999998888",
            "document": "52998224725",
            "invoices": [Invoice(invoice_number="F-1", amount=Decimal("179.80"), due_date=date(2025, 2, 10))],
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        } | overrides
        fields.setdefault("id", target_id(campaign.id, fields["document"]))
        inserted, _ = targets_data.insert_new([Target(**fields)])
        return inserted[0]

    def dial(self, target: Target) -> SimCall:
        """What the dialer does: take the target (scheduled → calling) and place a real call through
        the Twilio REST simulator; returns the simulator's record of the call."""
        current = targets_data.get(target.id)
        attempt = current.attempt_count + 1
        if current.state is TargetState.PENDING:
            targets_data.transition(
                target.id,
                [TargetState.PENDING],
                TargetState.SCHEDULED,
                channel=current.channel or Channel.VOICE,
            )
        voice = TwilioVoice(get_settings().twilio(), WEBHOOK_BASE)
        campaign = campaigns_data.get(current.campaign_id)
        sid = voice.place_call(
            target.id, current.phone, detect_message_end=campaign.voicemail_drop, record=campaign.record_calls
        )
        targets_data.transition(
            target.id,
            [TargetState.SCHEDULED],
            TargetState.CALLING,
            call_sid=sid,
            channel=Channel.VOICE,
            attempt_count=attempt,
            last_attempt_at=clock_module.now(),
        )
        return self.twilio.calls[sid]

    # --- post-call -----------------------------------------------------------------------------------

    def status(self, call: SimCall, status: str, **kwargs: Any) -> dict[str, Any]:
        """Deliver one Twilio status callback (its real form) to the post-call handler."""
        return self.post_call(self.twilio.status_params(call, status, **kwargs))

    def amd(self, call: SimCall, answered_by: str) -> dict[str, Any]:
        return self.post_call(self.twilio.amd_params(call, answered_by))

    def post_call(self, *forms: dict[str, str] | str) -> dict[str, Any]:
        return dict(post_call.handler(sqs_event(*forms), FakeContext()))

    # --- promises and their schedules -----------------------------------------------------------------

    def schedules(self) -> list[StoredSchedule]:
        found = []
        for page in self.scheduler.get_paginator("list_schedules").paginate(GroupName=GROUP):
            for item in page["Schedules"]:
                raw = self.scheduler.get_schedule(Name=item["Name"], GroupName=GROUP)
                found.append(StoredSchedule(item["Name"], _schedule_time(raw), raw))
        return sorted(found, key=lambda s: s.at)

    def check(self, *bodies: dict[str, Any] | str) -> dict[str, Any]:
        return dict(promise_monitor.handler(sqs_event(*bodies), FakeContext()))

    def fire_due_schedules(self) -> list[str]:
        """Deliver every schedule due on the virtual clock to the monitor, as EventBridge would."""
        fired = []
        for schedule in self.schedules():
            if schedule.at > self.clock.now():
                continue
            # EventBridge sends the Input to the queue and deletes the one-time schedule (DELETE after
            # completion) before the monitor ever runs.
            self.scheduler.delete_schedule(Name=schedule.name, GroupName=GROUP)
            response = self.check(schedule.raw["Target"]["Input"])
            assert failed_ids(response) == [], f"monitor failed on {schedule.name}"
            fired.append(schedule.name)
        self.fired.extend(fired)
        return fired


def _schedule_time(raw: dict[str, Any]) -> datetime:
    match = _AT.fullmatch(raw["ScheduleExpression"])
    assert match, raw["ScheduleExpression"]
    return datetime.fromisoformat(match[1]).replace(tzinfo=ZoneInfo(raw["ScheduleExpressionTimezone"]))


def add_debtor(crm: CrmSimulator, document: str = "52998224725", *amounts: str) -> None:
    invoices = [
        SimInvoice(f"FAT-{i}", Decimal(amount), date(2025, 1 + i, 10), 30) for i, amount in enumerate(amounts)
    ]
    crm.add_customer(
        document, "Maria Silva", invoices or [SimInvoice("FAT-0", Decimal("179.80"), date(2025, 2, 10))]
    )
