"""Domain objects and their vocabularies. Plain pydantic models with no storage concerns:
the data layer (`shared.data`) maps them to DynamoDB items, the API maps them to camelCase JSON."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate every field's
# annotation string when the class is created, at each cold start of every handler.
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final, Self

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from shared.domain import templates


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"


class ContactMethod(StrEnum):
    VOICE = "voice"
    WHATSAPP_PRIMARY = "whatsapp_primary"
    WHATSAPP_FALLBACK = "whatsapp_fallback"


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    VOICE = "voice"


class TargetState(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    CALLING = "calling"
    CONTACTED = "contacted"
    COMPLETED = "completed"


# Every state but `completed`: the target may still be contacted, so an opt-out, a payment or a
# promise's end may still conclude or reopen it.
OPEN_TARGET_STATES: Final = (
    TargetState.PENDING,
    TargetState.SCHEDULED,
    TargetState.CALLING,
    TargetState.CONTACTED,
)


class CaseOrder(StrEnum):
    """How a campaign's cases may be listed besides by state or outcome."""

    AMOUNT = "amount"  # the largest debt first
    AGE = "age"  # the longest overdue first (the oldest invoice's due date)


class Outcome(StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"  # a machine answered; no message left
    VOICEMAIL_LEFT = "voicemail_left"  # a machine answered and took the neutral voicemail drop
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    NOT_DELIVERED = "not_delivered"  # the WhatsApp message never reached the phone (no DELIVERY_ACK)
    PROMISE_MADE = "promise_made"
    PAID = "paid"
    PAYMENT_CLAIMED = "payment_claimed"
    PROMISE_BROKEN = "promise_broken"
    OPTED_OUT = "opted_out"
    TRANSFERRED = "transferred"
    UNKNOWN_CUSTOMER = "unknown_customer"  # the CRM does not know the document (404)
    TIME_BARRED = "time_barred"  # only debts older than 5 years are open: never collected
    EXHAUSTED = "exhausted"  # the campaign's contact budget (`max_contacts`) spent without resolution
    WRONG_NUMBER = "wrong_number"  # the person at the number is not the customer (a recycled number)
    # Somebody writing from a phone not on file asked about the customer: the registered number's
    # contact was made due now (`shared.engine.identity.reach_registered`), not a follow-up.
    CONTACT_REQUESTED = "contact_requested"


class PromiseStatus(StrEnum):
    PENDING = "pending"
    FULFILLED = "fulfilled"
    BROKEN = "broken"
    RENEGOTIATED = "renegotiated"


class PaymentMethod(StrEnum):
    PIX = "pix"
    BOLETO = "boleto"
    CARTAO_CREDITO = "cartao_credito"
    DEBITO_AUTOMATICO = "debito_automatico"
    OUTROS = "outros"


class UnlockStatus(StrEnum):
    """The outcome of a trust unlock ("desbloqueio em confiança") asked for a promise."""

    UNLOCKED = "unlocked"  # the ERP restored the service (until `unlock_until`, when it says)
    REFUSED = "refused"  # the ERP said no (already used this cycle, not suspended, ...): see the reason
    UNSUPPORTED = "unsupported"  # this billing system has no trust unlock
    UNAVAILABLE = "unavailable"  # the ERP did not answer usably: unknown, the promise stands alone


class ConversationSource(StrEnum):
    INBOUND = "inbound"
    WHATSAPP_CAMPAIGN = "whatsapp_campaign"
    VOICE_CAMPAIGN = "voice_campaign"


class ConversationStatus(StrEnum):
    """What the dashboard shows as IA Atendendo / Transferido / Resolvido."""

    AI = "ai"
    TRANSFERRED = "transferred"
    RESOLVED = "resolved"


class Sender(StrEnum):
    CUSTOMER = "customer"
    ASSISTANT = "assistant"
    AGENT = "agent"
    SYSTEM = "system"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SERVER_ACK = "server_ack"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# The receipts that say a message reached the customer's phone.
REACHED_PHONE: Final = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.READ})


class ImportStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class MessageStep(StrEnum):
    """Which outreach message a WhatsApp contact sends (`shared.engine.outreach_texts`)."""

    FIRST_CONTACT = "first_contact"
    FOLLOW_UP = "follow_up"
    AFTER_BROKEN_PROMISE = "after_broken_promise"
    LAST_NOTICE = "last_notice"  # the contact that spends the last unit of `max_contacts`


class CallDisposition(StrEnum):
    """What a recorded call agreed, read from what its tools stored (`shared.engine.call_summary`)."""

    PROMISE_MADE = "promise_made"
    TRANSFERRED = "transferred"
    OPTED_OUT = "opted_out"
    WRONG_NUMBER = "wrong_number"
    NO_AGREEMENT = "no_agreement"


class _Domain(BaseModel):
    # defer_build: a model's validator is built on its first use, so a process pays only for the
    # models it touches (a worker uses a few of these, and imports all of them).
    model_config = ConfigDict(validate_assignment=True, use_enum_values=False, defer_build=True)


class Campaign(_Domain):
    id: str
    name: str
    status: CampaignStatus = CampaignStatus.DRAFT
    contact_method: ContactMethod
    allowed_methods: list[Channel] = Field(default_factory=lambda: [Channel.WHATSAPP])
    fallback_order: list[Channel] = Field(default_factory=lambda: [Channel.WHATSAPP, Channel.VOICE])
    schedule_start: str = "08:00"
    schedule_end: str = "20:00"
    # ISO weekdays (1 = Monday ... 7 = Sunday) the campaign may contact on; Sundays are never legal.
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6])
    max_attempts_per_channel: int = 3
    # A promise registered for one of its targets asks the ERP to restore the customer's service.
    trust_unlock: bool = False
    # An engaged customer who did not resolve is contacted again this many days later...
    follow_up_after_days: int = Field(default=3, ge=1, le=30)
    # ...up to this many outreach messages and calls in the campaign (replies not counted).
    max_contacts: int = Field(default=6, ge=1, le=20)
    # The campaign's own text for a step, with `shared.domain.templates` placeholders.
    messages: dict[MessageStep, templates.Template] = Field(default_factory=dict)
    # The approved template of each step, for EVOLUTION_INTEGRATION=cloud.
    whatsapp_templates: dict[MessageStep, templates.WhatsAppTemplate] = Field(default_factory=dict)
    # An answering machine that reaches its beep gets a short neutral message (no debt mentioned).
    voicemail_drop: bool = False
    # Calls are recorded through Twilio, the greeting says so, and each answered call gets a summary.
    record_calls: bool = False
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None


class Invoice(_Domain):
    """One overdue invoice of a case, as imported."""

    invoice_number: str | None = None  # None: the row had no number (one such invoice per case)
    amount: Decimal  # > 0, two places
    due_date: date | None = None
    installation_point: str | None = None


class PhoneAddition(_Domain):
    """A phone a supervisor put on a case: who and when (`Target.added_phones`)."""

    phone: str
    added_by: str
    added_at: datetime


class Target(_Domain):
    """A case: one customer (document) in one campaign, with every overdue invoice imported for it.

    `phone` is the number outreach uses (the first valid mobile of `phones`, WhatsApp needs one);
    `phones` keeps every distinct number the imports gave, in the order they came.
    """

    id: str  # shared.domain.ids.target_id(campaign_id, document)
    campaign_id: str
    client_name: str
    phone: str  # E.164 digits, e.g. 5511999998888
    phones: list[str] = Field(default_factory=list)
    document: str  # normalized CPF (11 digits) or CNPJ (14 chars, upper case)
    invoices: list[Invoice] = Field(min_length=1)
    contact_count: int = 0  # outreach messages sent and calls placed in this campaign (replies not)
    state: TargetState = TargetState.PENDING
    outcome: Outcome | None = None
    outcome_details: str | None = None
    channel: Channel | None = None  # the channel of the current/last attempt
    attempt_count: int = 0
    channel_attempts: int = 0  # attempts on the current channel (retry limit)
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime  # when the scheduler may take it (pending targets only)
    # When the wait for the follow-up began (the customer engaged, a partial promise was kept): the
    # follow-up is due `Campaign.follow_up_after_days` after it (`shared.engine.cadence`).
    follow_up_from: datetime | None = None
    call_sid: str | None = None
    conversation_id: str | None = None
    import_id: str | None = None
    added_phones: list[PhoneAddition] = Field(default_factory=list)
    # What the CRM showed still collectible (not time-barred) of the case's invoices the last time the
    # engine read it while writing the case (a send's guards, a promise settled, a payment claim), and
    # when (`shared.domain.debts.DebtReading.checked`); None before any read. `debt_amount` stays what
    # was imported.
    open_amount: Decimal | None = None
    open_amount_at: datetime | None = None
    # The most of `debt_amount` those reads showed paid (`shared.domain.debts.case_fields`: it never
    # shrinks; invoices a re-import adds are open, not paid); None before any read. The campaign's money
    # counts it as it grows, recovered or self-cured (`shared.data.targets`); a case closed paid counts
    # its whole debt.
    paid_amount: Decimal | None = None
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _phone_is_kept(self) -> Self:
        if self.phone not in self.phones:
            # Assigned through __dict__: validate_assignment would re-enter this validator.
            self.__dict__["phones"] = [self.phone, *self.phones]
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def debt_amount(self) -> Decimal:
        """What the case's invoices add up to."""
        return sum((invoice.amount for invoice in self.invoices), Decimal("0.00"))


class Promise(_Domain):
    id: str
    document: str
    amount: Decimal
    # What was open of `invoice_numbers` when the promise was made: it is kept once the CRM shows at
    # least `amount` of them paid. None on promises made before promises named their invoices.
    open_amount: Decimal | None = None
    invoice_numbers: list[str] | None = None
    due_date: date  # the promised day, in the customer's zone
    due_at: datetime  # end of that day (23:59:59.999) in the customer's zone
    timezone: str
    status: PromiseStatus = PromiseStatus.PENDING
    payment_method: PaymentMethod | None = None
    notes: str | None = None
    target_id: str | None = None
    campaign_id: str | None = None
    conversation_id: str | None = None
    replaces_id: str | None = None
    next_check_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    fulfilled_at: datetime | None = None
    broken_at: datetime | None = None
    # The trust unlock asked when the promise was registered (campaigns with `trust_unlock` only).
    unlock_status: UnlockStatus | None = None
    unlock_until: date | None = None  # the day the ERP keeps the service on until, when it says
    unlock_code: str | None = None  # the ERP's own refusal code, e.g. IXC "113"
    unlock_reason: str | None = None  # why it was refused or not done, in Portuguese


class Disclosure(_Domain):
    """A tool call that gave a customer's data to the conversation: what, to which phone, when."""

    tool: str
    what: str  # e.g. "faturas", "codigo_pagamento", "promessa", "status_pagamento"
    document: str
    phone: str
    at: datetime


class Conversation(_Domain):
    id: str
    chat_id: str  # whatsapp_<E.164> for WhatsApp, voice_<CallSid> for calls
    phone: str
    source: ConversationSource
    status: ConversationStatus = ConversationStatus.AI
    assigned_assistant: str | None = "cobranca"
    client_name: str | None = None
    document: str | None = None
    target_id: str | None = None
    campaign_id: str | None = None
    identity_confirmed: bool = False
    # When the identity was last confirmed, and for which campaign contact
    # (`shared.domain.identity.contact_key`): it holds for IDENTITY_TTL_HOURS and that contact only.
    identity_confirmed_at: datetime | None = None
    identity_contact: str | None = None
    disclosures: list[Disclosure] = Field(default_factory=list)  # the latest, oldest first
    call_sid: str | None = None
    last_inbound_at: datetime | None = None  # the customer's last WhatsApp message (the 24 h window)
    # The human desk (shared.engine.handoff / desk): who has it, why it was handed over, since when the
    # customer waits for a human's answer (None: not waiting), the first human reply since the handoff.
    assignee: str | None = None
    handoff_reason: str | None = None
    transferred_at: datetime | None = None
    waiting_since: datetime | None = None
    first_human_reply_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    # A recorded call (campaigns with `record_calls`): Twilio's RecordingSid and length (the media
    # stays at Twilio), and what the call agreed once it ended (`shared.engine.call_summary`).
    recording_sid: str | None = None
    recording_seconds: int | None = None
    call_summary: str | None = None
    call_disposition: CallDisposition | None = None
    last_activity_at: datetime
    created_at: datetime
    updated_at: datetime


class Message(_Domain):
    id: str
    conversation_id: str
    sender: Sender
    content: str
    created_at: datetime
    channel: Channel = Channel.WHATSAPP
    external_id: str | None = None  # Evolution key.id / Twilio sid
    delivery_status: DeliveryStatus | None = None
    reached_at: datetime | None = None  # when a receipt first said it reached the phone (we sent it)
    is_from_campaign: bool = False
    author: str | None = None  # the principal behind an agent's message or a desk action's note


class OptOut(_Domain):
    key: str  # "phone#<E.164>" or "document#<normalized>"
    value: str
    reason: str | None = None
    source: str  # keyword | assistant | api
    created_at: datetime


class AccessLogEntry(_Domain):
    """One lookup of a customer's data (LGPD access log); `document` is masked."""

    id: str
    subject: str  # who: the principal's subject (token name or Cognito user)
    role: str
    action: str  # what was looked at, e.g. "customer_story"
    document: str
    at: datetime


class ImportRowError(_Domain):
    line: int
    field: str | None = None
    code: str
    message: str
    value: str | None = None


class ImportJob(_Domain):
    id: str
    campaign_id: str
    status: ImportStatus = ImportStatus.PROCESSING
    filename: str | None = None  # an ERP sync's: the billing system (BILLING_SYSTEM)
    source: str = "upload"  # upload | s3 | erp
    total_rows: int = 0
    imported: int = 0  # rows accepted: invoices added to a case
    customers_created: int = 0  # cases this import created
    customers_updated: int = 0  # cases that existed and gained invoices or phones
    duplicates: int = 0
    rejected: int = 0
    errors: list[ImportRowError] = Field(default_factory=list)  # the first few, for the API
    report_key: str | None = None  # S3 key of the full rejected-rows CSV
    failure: str | None = None
    # An ERP sync's filters (JSON) and where its next page starts: a resumed run continues there.
    sync_filter: str | None = None
    cursor: str | None = None
    created_at: datetime
    finished_at: datetime | None = None
