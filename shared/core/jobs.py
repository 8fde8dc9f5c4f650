"""The bodies of the messages our queues carry — one typed model per queue, used by the producers
(`shared.engine.routing`, the API's webhooks, the schedules) and by the handlers,
each parsing its SQS record's body."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate every field's
# annotation string when the class is created, at each cold start of every handler.
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.domain.models import Channel
from shared.domain.names import display_name

# SQS takes 256 KB a message; WhatsApp 65,536 characters a text. What a customer writes is cut here,
# whoever builds the job: a reply never needs more, and an oversized text never fails the enqueue.
MAX_INBOUND_TEXT_CHARS = 4096


class _Job(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True, defer_build=True)


# The scheduler job's `reason` of a campaign the team completed: it closes the campaign's open cases.
CAMPAIGN_COMPLETED = "completed"
# The scheduler job's `reason` of a campaign whose `followUpAfterDays` the team changed: it retimes the
# follow-ups waiting to the new cadence.
CADENCE_CHANGED = "cadence_changed"


class SchedulerTick(_Job):
    """Scheduler queue: the cron's tick (`campaignId` absent: every active campaign), an activation, a
    completed campaign's closing (`reason` CAMPAIGN_COMPLETED), or a new cadence's retiming (`reason`
    CADENCE_CHANGED, `followUpAfterDays` the new one). The last two read the campaign's cases page by
    page: `cursor` is where a continuation resumes, `lastPass` a closing's second reading from the
    start (a case an import moved behind the cursor meanwhile)."""

    campaign_id: str | None = Field(default=None, alias="campaignId")
    reason: str = "tick"
    cursor: str | None = None
    last_pass: bool = Field(default=False, alias="lastPass")
    follow_up_after_days: int | None = Field(default=None, alias="followUpAfterDays", ge=1, le=30)

    @property
    def closes_campaign(self) -> bool:
        return self.reason == CAMPAIGN_COMPLETED and self.campaign_id is not None

    @property
    def retimes_follow_ups(self) -> bool:
        return (
            self.reason == CADENCE_CHANGED
            and self.campaign_id is not None
            and self.follow_up_after_days is not None
        )


class OutreachJob(_Job):
    """WhatsApp and dialer queues: contact one target on one channel. `attempt` is the target's
    attempt number this job is for — with the target id it names the send the claim guards."""

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
    push_name: Annotated[str | None, AfterValidator(display_name)] = Field(default=None, alias="pushName")
    text: Annotated[str | None, AfterValidator(lambda text: _cut(text, MAX_INBOUND_TEXT_CHARS))] = (
        None  # None for media/non-text messages
    )
    message_type: Annotated[str | None, AfterValidator(lambda kind: _cut(kind, 64))] = Field(
        default=None, alias="messageType"
    )
    timestamp: int | None = None


def _cut(text: str | None, limit: int) -> str | None:
    """`text` at most `limit` characters, an ellipsis marking a cut."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"
