"""The bodies of the messages our queues carry — one typed model per queue, used by the producers
(`shared.engine.routing`, the API's webhooks, the schedules) and by the handlers' Powertools parsers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.models import Channel


class _Job(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class SchedulerTick(_Job):
    """Scheduler queue: the cron's tick (`campaignId` absent: every active campaign) or an activation."""

    campaign_id: str | None = Field(default=None, alias="campaignId")
    reason: str = "tick"


class OutreachJob(_Job):
    """WhatsApp and dialer queues: contact one target on one channel. `attempt` is the target's
    attempt number this job is for — with the target id it is the idempotency key of the send."""

    target_id: str = Field(alias="targetId")
    campaign_id: str = Field(alias="campaignId")
    channel: Channel
    attempt: int = Field(ge=1)


class CallStatusEvent(_Job):
    """Post-call queue: a Twilio status (or async AMD) callback, already signature-checked."""

    call_sid: str = Field(alias="CallSid")
    call_status: str | None = Field(default=None, alias="CallStatus")
    call_duration: int | None = Field(default=None, alias="CallDuration")
    answered_by: str | None = Field(default=None, alias="AnsweredBy")
    sequence_number: int | None = Field(default=None, alias="SequenceNumber")
    timestamp: str | None = Field(default=None, alias="Timestamp")


class PromiseCheck(_Job):
    """Promise-monitor queue: check one promise against the CRM (sent by a one-time schedule)."""

    promise_id: str = Field(alias="promiseId")


class InboundMessage(_Job):
    """Inbound FIFO queue (one group per chat): a customer's WhatsApp message, already deduplicated."""

    message_id: str = Field(alias="messageId")
    remote_jid: str = Field(alias="remoteJid")
    phone: str
    push_name: str | None = Field(default=None, alias="pushName")
    text: str | None = None  # None for media/non-text messages
    message_type: str | None = Field(default=None, alias="messageType")
    timestamp: int | None = None
