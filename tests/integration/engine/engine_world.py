"""The world of the outreach-engine tests (imported by conftest.py and the tests).

Real wire formats end to end: moto's SQS queues (each work queue with a DLQ after `MAX_RECEIVES`
receives), the handlers fed Lambda-shaped SQS events built from messages actually received, and the
CRM, Evolution API and Twilio REST simulators on loopback. `Engine.drain(...)` plays Lambda's event
source mapping: receive a batch, invoke the handler, delete what succeeded and make the failed records
visible again at once (the visibility timeout, compressed), until the queue is empty.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from functions.dialer import handler as dialer
from functions.post_call import handler as post_call
from functions.scheduler import handler as scheduler
from functions.whatsapp import outreach as whatsapp
from infra.local.simulators.crm import CrmSimulator, SimInvoice
from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.twilio import TwilioSimulator
from shared.core import clock as clock_module
from shared.data import campaigns as campaigns_data
from shared.data import targets as targets_data
from shared.domain.ids import new_id, target_id
from shared.domain.models import (
    Campaign,
    CampaignStatus,
    Channel,
    ContactMethod,
    DeliveryStatus,
    Invoice,
    Target,
    TargetState,
)
from shared.engine import inbound, sweep

CRM_KEY = "crm-engine-key"
EVOLUTION_KEY = "evolution-engine-key"
EVOLUTION_INSTANCE = "cobranca"
TWILIO_SID = "AC" + "2" * 32
TWILIO_TOKEN = "twilio-engine-token"
TWILIO_NUMBER = "+551140028922"
WEBHOOK_BASE = "https://cobranca.example.test"
BRIDGE_URL = "wss://bridge.example.test/media"
COMPANY_CNPJ = "11222333000181"
MAX_RECEIVES = 4
QUEUES = ("scheduler", "whatsapp", "dialer", "post_call")
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class FakeContext:
    function_name = "engine"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:sa-east-1:123456789012:function:engine"
    aws_request_id = "req-engine"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def cpf(seed: int) -> str:
    """A valid CPF built from `seed` (its check digits computed)."""
    base = f"{(seed * 7919 + 123456) % 10**9:09d}"

    def digit(digits: str) -> str:
        weights = range(len(digits) + 1, 1, -1)
        remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
        return "0" if remainder < 2 else str(11 - remainder)

    first = digit(base)
    return base + first + digit(base + first)


def mobile(ddd: str, seed: int) -> str:
    """A mobile number of the DDD in E.164 digits: 55 + DDD + 9 + eight digits."""
    return f"55{ddd}9{(seed * 104729 + 31337) % 10**8:08d}"


def invoice(amount: str = "89.90", due: date = date(2025, 2, 10), number: str = "F-1") -> SimInvoice:
    return SimInvoice(number=number, amount=Decimal(amount), due_date=due, days_overdue=28)


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A message received from SQS, as Lambda's event source mapping hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message["Attributes"],
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "sa-east-1",
    }


@dataclass
class DrainReport:
    invocations: int = 0
    succeeded: int = 0
    failed: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Engine:
    sqs: Any
    crm: CrmSimulator
    evolution: EvolutionSimulator
    twilio: TwilioSimulator
    urls: dict[str, str]
    arns: dict[str, str]
    dlq_urls: dict[str, str]
    clock: clock_module.VirtualClock
    context: FakeContext = field(default_factory=FakeContext)

    # --- the world ---------------------------------------------------------------------------------

    def campaign(self, **overrides: Any) -> Campaign:
        now = clock_module.now()
        fields: dict[str, Any] = {
            "id": new_id(),
            "name": "Cobrança Março",
            "status": CampaignStatus.ACTIVE,
            "contact_method": ContactMethod.WHATSAPP_PRIMARY,
            "allowed_methods": [Channel.WHATSAPP, Channel.VOICE],
            "fallback_order": [Channel.WHATSAPP, Channel.VOICE],
            "created_at": now,
            "updated_at": now,
            "started_at": now,
        }
        return campaigns_data.create(Campaign(**(fields | overrides)))

    def targets(self, campaign: Campaign, seeds: range, **overrides: Any) -> list[Target]:
        """Many pending targets at once (one batch write), each known to the CRM."""
        built = [self._build(campaign, seed, **overrides) for seed in seeds]
        inserted, _ = targets_data.insert_new(built)
        assert len(inserted) == len(built)
        for target in built:
            self.crm.add_customer(target.document, target.client_name, [invoice()])
        return built

    def target(
        self,
        campaign: Campaign,
        seed: int = 1,
        *,
        crm: list[SimInvoice] | None = None,
        in_crm: bool = True,
        **overrides: Any,
    ) -> Target:
        """A pending target, due now, known to the CRM with one open invoice unless told otherwise."""
        target = self._build(campaign, seed, **overrides)
        inserted, _ = targets_data.insert_new([target])
        assert inserted, "target already existed"
        if in_crm:
            self.crm.add_customer(
                target.document, target.client_name, crm if crm is not None else [invoice()]
            )
        return target

    def _build(self, campaign: Campaign, seed: int, *, ddd: str = "11", **overrides: Any) -> Target:
        now = clock_module.now()
        fields: dict[str, Any] = {
            "campaign_id": campaign.id,
            "client_name": f"Cliente {seed}",
            "phone": mobile(ddd, seed),
            "document": cpf(seed),
            "invoices": [Invoice(invoice_number="F-1", amount=Decimal("89.90"), due_date=date(2025, 2, 10))],
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        } | overrides
        fields["id"] = target_id(campaign.id, fields["document"])
        return Target(**fields)

    def scheduled(
        self, campaign: Campaign, seed: int = 1, channel: Channel = Channel.WHATSAPP, **kwargs: Any
    ) -> Target:
        """A target taken by the scheduler on `channel`, its job on the channel's queue (attempt 1)."""
        target = self.target(campaign, seed, **kwargs)
        return sweep.schedule(target, [TargetState.PENDING], channel)

    def tick(self, campaign_id: str | None = None) -> DrainReport:
        """What the EventBridge cron (or an activation) does: a tick on the scheduler queue, handled."""
        body: dict[str, Any] = (
            {"reason": "tick"} if campaign_id is None else {"campaignId": campaign_id, "reason": "activated"}
        )
        self.sqs.send_message(QueueUrl=self.urls["scheduler"], MessageBody=json.dumps(body))
        return self.drain("scheduler")

    def delivered(self) -> None:
        """Evolution's DELIVERY_ACK for every message sent so far (upkeep reads them at the deadlines)."""
        for sent in self.evolution.sent:
            inbound.record_receipt(sent.id, DeliveryStatus.DELIVERED)

    def awaiting(self, campaign_id: str, due: targets_data.Due, until: datetime) -> list[Target]:
        """The campaign's cases whose WhatsApp message awaited `due` past its deadline, by `until`."""
        return [item.target for item in targets_data.overdue(campaign_id, until) if item.awaiting is due]

    def get(self, target: Target | str) -> Target:
        return targets_data.get(target if isinstance(target, str) else target.id)

    # --- queues and handlers -----------------------------------------------------------------------

    def receive(self, queue: str, limit: int = 10) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(
            QueueUrl=self.urls[queue],
            MaxNumberOfMessages=limit,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        return list(found.get("Messages", []))

    def event(self, queue: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [sqs_record(m, self.arns[queue]) for m in messages]}

    def invoke(self, queue: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke the queue's handler; an all-failed batch (Powertools raises) counts every record failed."""
        try:
            return self.handler(queue)(event, self.context)
        except BatchProcessingError:
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    def handler(self, queue: str) -> Handler:
        return {
            "whatsapp": whatsapp.outreach_handler,
            "dialer": dialer.handler,
            "scheduler": scheduler.handler,
            "post_call": post_call.handler,
        }[queue]

    def drain(self, queue: str, *, max_rounds: int = 30, batch: int = 10) -> DrainReport:
        """Deliver the queue's visible messages to its handler until it is empty (or `max_rounds`)."""
        report = DrainReport()
        for _ in range(max_rounds):
            messages = self.receive(queue, batch)
            if not messages:
                break
            result = self.invoke(queue, self.event(queue, messages))
            report.invocations += 1
            report.results.append(result)
            failed = {item["itemIdentifier"] for item in result["batchItemFailures"]}
            for message in messages:
                if message["MessageId"] in failed:
                    report.failed += 1
                    self.sqs.change_message_visibility(
                        QueueUrl=self.urls[queue], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    report.succeeded += 1
                    self.sqs.delete_message(QueueUrl=self.urls[queue], ReceiptHandle=message["ReceiptHandle"])
        return report

    def bodies(self, queue: str) -> list[dict[str, Any]]:
        """The bodies waiting on a queue (received, then made visible again)."""
        messages = self.receive(queue)
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=self.urls[queue], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [json.loads(m["Body"]) for m in messages]

    def dead_letters(self, queue: str) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(QueueUrl=self.dlq_urls[queue], MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in found.get("Messages", [])]

    def depth(self, queue: str) -> dict[str, int]:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.urls[queue], AttributeNames=["All"])[
            "Attributes"
        ]
        return {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "delayed": int(attributes["ApproximateNumberOfMessagesDelayed"]),
        }
