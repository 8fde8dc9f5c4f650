"""The API's JSON shapes: camelCase on the wire, as the seed's routes are (`contactMethod`,
`scheduleStart`...). Domain objects are converted here and only here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from shared.domain import templates
from shared.domain.chat_ids import channel_of, phone_of_chat_id, whatsapp_chat_id
from shared.domain.masking import mask_document, mask_phone
from shared.domain.models import (
    CallDisposition,
    CampaignStatus,
    Channel,
    ContactMethod,
    ConversationSource,
    ConversationStatus,
    DeliveryStatus,
    ImportStatus,
    MessageStep,
    Outcome,
    PaymentMethod,
    PromiseStatus,
    Sender,
    TargetState,
    UnlockStatus,
)
from shared.engine.desk import CustomerDebt, ReplyBlocked

if TYPE_CHECKING:
    from shared.engine.customers import CustomerStory
    from shared.engine.reporting import MoneyStats

HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
# An instant a person can mean: with its UTC offset, and this side of year 2100.
Moment = Annotated[
    AwareDatetime,
    Field(gt=datetime(2000, 1, 1, tzinfo=UTC), lt=datetime(2100, 1, 1, tzinfo=UTC)),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class Strict(Camel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def given_not_null(value: Any) -> Any:
    """For a PATCH field that may be left out but has no "nothing" value: an explicit null is a 422
    naming the field (validators run only on values given, so leaving it out stays fine)."""
    if value is None:
        raise ValueError("may be left out, but cannot be null")
    return value


# --- campaigns ---

# A campaign's own outreach texts by step ("first_contact", "follow_up", "after_broken_promise",
# "last_notice"), each with the placeholders {nome}, {empresa}, {cnpj}; a step left out uses the default.
Messages = dict[MessageStep, templates.Template]
# The Meta-approved template of each step, for EVOLUTION_INTEGRATION=cloud: {"name", "language"}; its
# body parameters are {{1}} the customer's name, {{2}} the creditor, {{3}} its CNPJ (when configured).
WhatsAppTemplates = dict[MessageStep, templates.WhatsAppTemplate]


class CampaignCreate(Strict):
    name: Name
    contact_method: ContactMethod
    allowed_methods: list[Channel] | None = None
    fallback_order: list[Channel] | None = None
    schedule_start: HHMM = "08:00"
    schedule_end: HHMM = "20:00"
    weekdays: list[int] = Field(
        default=[1, 2, 3, 4, 5, 6], description="ISO weekdays, 1 = Monday ... 6 = Saturday"
    )
    max_attempts_per_channel: int = Field(default=3, ge=1, le=10)
    trust_unlock: StrictBool = Field(
        default=False,
        description="A promise asks the ERP to restore the customer's suspended service (trust unlock)",
    )
    follow_up_after_days: int = Field(
        default=3, ge=1, le=30, description="Days before an engaged, unresolved customer is contacted again"
    )
    max_contacts: int = Field(
        default=6, ge=1, le=20, description="Outreach messages and calls per customer (replies not counted)"
    )
    messages: Messages | None = None
    whatsapp_templates: WhatsAppTemplates | None = None
    voicemail_drop: StrictBool = Field(
        default=False,
        description="An answering machine that reaches its beep gets a short neutral message "
        "(creditor, return number, WhatsApp) — never the debt",
    )
    record_calls: StrictBool = Field(
        default=False,
        description="Calls are recorded through Twilio (the greeting says the call may be recorded); "
        "each answered call gets a summary and a disposition on its conversation",
    )


class CampaignUpdate(Strict):
    name: Name | None = None
    contact_method: ContactMethod | None = None
    allowed_methods: list[Channel] | None = None
    fallback_order: list[Channel] | None = None
    schedule_start: HHMM | None = None
    schedule_end: HHMM | None = None
    weekdays: list[int] | None = None
    max_attempts_per_channel: int | None = Field(default=None, ge=1, le=10)
    trust_unlock: StrictBool | None = None
    follow_up_after_days: int | None = Field(default=None, ge=1, le=30)
    max_contacts: int | None = Field(default=None, ge=1, le=20)
    messages: Messages | None = None
    whatsapp_templates: WhatsAppTemplates | None = None
    voicemail_drop: StrictBool | None = None
    record_calls: StrictBool | None = None
    status: CampaignStatus | None = None

    _not_null = field_validator(
        "name",
        "contact_method",
        "schedule_start",
        "schedule_end",
        "weekdays",
        "max_attempts_per_channel",
        "trust_unlock",
        "follow_up_after_days",
        "max_contacts",
        "messages",
        "whatsapp_templates",
        "voicemail_drop",
        "record_calls",
        "status",
    )(given_not_null)


class WhatsAppTemplatePublic(Camel):
    """A message template of the instance, as Meta lists it."""

    name: str
    language: str
    status: str = Field(description="APPROVED, PENDING, REJECTED... (only APPROVED ones can be sent)")
    category: str | None
    body: str | None = Field(description="The body text, with its {{1}}, {{2}}... parameters")


class CampaignPublic(Camel):
    id: str
    name: str
    status: CampaignStatus
    contact_method: ContactMethod
    allowed_methods: list[Channel]
    fallback_order: list[Channel]
    schedule_start: str
    schedule_end: str
    weekdays: list[int]
    max_attempts_per_channel: int
    trust_unlock: bool
    follow_up_after_days: int
    max_contacts: int
    messages: dict[MessageStep, str]
    whatsapp_templates: dict[MessageStep, templates.WhatsAppTemplate]
    voicemail_drop: bool
    record_calls: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class CampaignAction(Camel):
    success: bool = True
    campaign: CampaignPublic


class Success(Camel):
    success: bool = True


# --- targets ---


class InvoicePublic(Camel):
    invoice_number: str | None
    amount: Decimal
    due_date: date | None
    installation_point: str | None


class PhoneAdditionPublic(Camel):
    """A phone a supervisor put on the case: who and when (the number masked)."""

    phone_number: str
    added_by: str
    added_at: datetime


class PhoneCreate(Strict):
    """A phone to put on a customer's case (any common Brazilian form)."""

    phone_number: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class TargetPublic(Camel):
    """One case: a customer in the campaign, with every invoice imported for them."""

    id: str
    campaign_id: str
    client_name: str
    phone_number: str  # the number outreach uses; masked, as every phone the API shows
    client_document: str
    invoices: list[InvoicePublic]
    debt_amount: Decimal  # what the imported invoices add up to
    open_amount: Decimal | None = Field(
        description="what the CRM/ERP last showed still collectible of the case's invoices (null before any read)"
    )
    open_amount_at: datetime | None = Field(description="when the CRM/ERP was read for `openAmount`")
    paid_amount: Decimal | None = Field(
        description="the most of `debtAmount` the CRM/ERP has shown paid (null before any read): counted as "
        "recovered (self-cured before any contact) the day it was first seen"
    )
    contact_count: int
    state: TargetState
    outcome: Outcome | None
    outcome_details: str | None
    channel: Channel | None
    attempt_count: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime
    call_sid: str | None
    conversation_id: str | None
    added_phones: list[PhoneAdditionPublic]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, target: Any) -> TargetPublic:
        data = target.model_dump()
        data["phone_number"] = mask_phone(target.phone)
        data["added_phones"] = [
            {"phone_number": mask_phone(added.phone), "added_by": added.added_by, "added_at": added.added_at}
            for added in target.added_phones
        ]
        data["client_document"] = mask_document(target.document)
        return cls.model_validate(data)


class TargetUpdate(Strict):
    """What a supervisor may correct on a target. State moves go through the engine's rules."""

    client_name: Name | None = None
    outcome_details: Annotated[str, StringConstraints(max_length=500)] | None = None
    next_attempt_at: Moment | None = None
    outcome: Outcome | None = None

    _not_null = field_validator("client_name", "next_attempt_at")(given_not_null)


# --- imports ---


class ImportRowErrorPublic(Camel):
    line: int
    field: str | None
    code: str
    message: str


class ImportResult(Camel):
    import_id: str
    imported: int  # rows accepted: invoices added to the customers' cases
    customers_created: int
    customers_updated: int
    duplicates: int
    errors: list[ImportRowErrorPublic]


class ImportJobPublic(Camel):
    id: str
    campaign_id: str
    status: ImportStatus
    filename: str | None
    source: str
    total_rows: int
    imported: int
    customers_created: int
    customers_updated: int
    duplicates: int
    rejected: int
    errors: list[ImportRowErrorPublic]
    failure: str | None
    report_url: str | None = None
    created_at: datetime
    finished_at: datetime | None


class UploadUrlRequest(Strict):
    filename: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    content_type: str = "application/octet-stream"


class TargetSyncRequest(Strict):
    """Which overdue customers to pull from the ERP; `importId` continues an unfinished sync instead
    (with that sync's own filters)."""

    min_days_overdue: Annotated[int, Field(ge=1, le=1825)] = 1
    max_days_overdue: Annotated[int | None, Field(ge=1, le=1825)] = None
    min_amount: Annotated[Decimal | None, Field(gt=0, max_digits=12, decimal_places=2)] = None
    contract_status: Annotated[
        str | None, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ] = None
    import_id: Annotated[str | None, StringConstraints(min_length=1, max_length=64)] = None

    @model_validator(mode="after")
    def _window(self) -> TargetSyncRequest:
        if self.max_days_overdue is not None and self.max_days_overdue < self.min_days_overdue:
            raise ValueError("maxDaysOverdue must not be below minDaysOverdue")
        return self


class UploadUrl(Camel):
    import_id: str
    upload_url: str
    key: str
    method: str = "PUT"
    headers: dict[str, str]
    expires_in: int


# --- promises ---


class PromisePublic(Camel):
    id: str
    contact_document: str
    amount: Decimal
    open_amount: Decimal | None = Field(description="what was open of `invoiceNumbers` when promised")
    invoice_numbers: list[str] | None = Field(description="the invoices the promise was made against")
    due_date: date
    due_at: datetime
    timezone: str
    status: PromiseStatus
    payment_method: PaymentMethod | None
    notes: str | None
    target_id: str | None
    campaign_id: str | None
    conversation_id: str | None
    created_at: datetime
    updated_at: datetime
    fulfilled_at: datetime | None
    broken_at: datetime | None
    unlock_status: UnlockStatus | None
    unlock_until: date | None
    unlock_code: str | None
    unlock_reason: str | None

    @classmethod
    def of(cls, promise: Any) -> PromisePublic:
        data = promise.model_dump()
        data["contact_document"] = mask_document(promise.document)
        return cls.model_validate(data)


class PromiseUpdate(Strict):
    status: PromiseStatus | None = None
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None


# --- conversations ---


class ConversationPublic(Camel):
    id: str
    chat_id: str
    client_name: str | None
    client_document: str | None
    phone_number: str
    conversation_source: ConversationSource
    channel: Channel  # a call's conversation (`voice`) or a WhatsApp chat's
    status: ConversationStatus
    assigned_assistant: str | None
    target_id: str | None
    campaign_id: str | None
    identity_confirmed: bool
    assignee: str | None
    handoff_reason: str | None
    transferred_at: datetime | None
    waiting_since: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    recording_sid: str | None = None
    recording_seconds: int | None = None
    call_summary: str | None = None
    call_disposition: CallDisposition | None = None
    last_activity_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, conversation: Any, *, confirmed: bool) -> ConversationPublic:
        """`confirmed`: whether the identity confirmation holds now
        (`shared.engine.identity.current_confirmations`), shown as `identityConfirmed` instead of the
        stored flag, which stays set after the confirmation expired."""
        data = conversation.model_dump()
        data["identity_confirmed"] = confirmed
        data["chat_id"] = (
            whatsapp_chat_id(mask_phone(conversation.phone))
            if phone_of_chat_id(conversation.chat_id) is not None
            else conversation.chat_id
        )
        data["client_document"] = mask_document(conversation.document) if conversation.document else None
        data["phone_number"] = mask_phone(conversation.phone)
        data["conversation_source"] = conversation.source
        data["channel"] = channel_of(conversation.chat_id)
        return cls.model_validate(data)


class MessagePublic(Camel):
    id: str
    sender: Sender
    content: str
    channel: Channel
    created_at: datetime
    delivery_status: DeliveryStatus | None
    is_from_campaign: bool
    author: str | None


class DisclosurePublic(Camel):
    """A tool call that gave a customer's data: what, to which phone, when (masked)."""

    tool: str
    what: str
    client_document: str
    phone_number: str
    at: datetime

    @classmethod
    def of(cls, disclosure: Any) -> DisclosurePublic:
        return cls(
            tool=disclosure.tool,
            what=disclosure.what,
            client_document=mask_document(disclosure.document),
            phone_number=mask_phone(disclosure.phone),
            at=disclosure.at,
        )


class DeskCasePublic(Camel):
    """One case of the customer as the desk shows it: what the CRM last showed open and paid of it."""

    id: str
    campaign_id: str
    state: TargetState
    outcome: Outcome | None
    debt_amount: Decimal  # what its imported invoices add up to
    open_amount: Decimal | None  # null before any CRM read
    paid_amount: Decimal | None
    open_amount_at: datetime | None


class CustomerDebtPublic(Camel):
    """What the desk shows of the customer's debt, as the CRM last showed it on her cases (every
    campaign): `settled` when nothing is open and something was paid (nothing to collect)."""

    settled: bool
    open_amount: Decimal = Field(description="what her open cases still show collectible")
    paid_amount: Decimal = Field(description="what the CRM showed paid of her cases")
    checked_at: datetime | None = Field(description="when the CRM was read for it (null: never)")
    cases: list[DeskCasePublic]

    @classmethod
    def of(cls, debt: CustomerDebt) -> CustomerDebtPublic:
        return cls(
            settled=debt.settled,
            open_amount=debt.open_amount,
            paid_amount=debt.paid_amount,
            checked_at=debt.checked_at,
            cases=[
                DeskCasePublic.model_validate(case.model_dump() | {"debt_amount": case.debt_amount})
                for case in debt.cases
            ],
        )


class ConversationDetail(ConversationPublic):
    messages: list[MessagePublic]
    # What the desk shows of the customer's debt (null: no known customer).
    debt: CustomerDebtPublic | None = None
    # Why the desk cannot reply to the customer now (null: it can; `shared.engine.desk.reply_blocked`).
    reply_blocked_reason: ReplyBlocked | None = None
    # Every disclosure of a customer's data in the conversation; supervisors and admins only (null
    # for viewers).
    disclosures: list[DisclosurePublic] | None = None


class AgentReply(Strict):
    """An agent's message to the customer (empty or over 4,096 characters: 422, from the desk)."""

    text: str


class DeskPromise(Strict):
    """A promise the agent records for the customer from the desk (`amount` as typed: `150,00`,
    `R$ 1.234,56`; the assistant's rules: in the future, at most PROMISE_MAX_DAYS ahead, not above the
    open total — 422 otherwise)."""

    amount: Annotated[str, StringConstraints(max_length=32)]
    due_date: date
    payment_method: PaymentMethod | None = None
    notes: Annotated[str, StringConstraints(max_length=1000)] | None = None


class QueueDebtPublic(Camel):
    """What the queue shows of the customer's debt on the conversation's own case, as the CRM last
    showed it (`shared.engine.desk.queue_debts`): `settled` when nothing is open and it was paid."""

    settled: bool
    open_amount: Decimal = Field(description="what the case still shows collectible")
    checked_at: datetime | None = Field(description="when the CRM was read for it (null: never)")

    @classmethod
    def of(cls, debt: CustomerDebt) -> QueueDebtPublic:
        return cls(settled=debt.settled, open_amount=debt.open_amount, checked_at=debt.checked_at)


class QueueEntry(ConversationPublic):
    """A conversation waiting for a human: how long, why it was handed over, and what its customer
    still owes on its case (null: no known customer, or no open or paid case)."""

    waiting_seconds: int
    reason: str
    reply_blocked_reason: ReplyBlocked | None = None
    debt: QueueDebtPublic | None = None


class HeldEntry(ConversationPublic):
    """A conversation a person holds: since when (`heldSeconds`, from the handoff), untouched for how
    long (`idleSeconds`, since its last message or action), waiting for an answer for how long (null
    when answered), and why it was handed over."""

    held_seconds: int
    idle_seconds: int
    waiting_seconds: int | None
    reason: str


class DeskHeld(Camel):
    held: int
    items: list[HeldEntry]


class ReplyTimesPublic(Camel):
    """Time to the first human reply after a handoff, in whole minutes."""

    count: int
    median_minutes: int | None
    p90_minutes: int | None


class DeskQueue(Camel):
    waiting: int
    first_human_reply: ReplyTimesPublic
    items: list[QueueEntry]


# --- opt-outs ---


class OptOutCreate(Strict):
    phone_number: str | None = None
    client_document: str | None = None
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class OptOutPublic(Camel):
    key: str
    value: str
    reason: str | None
    source: str
    created_at: datetime


# --- a customer's story ---


class StoryOptOutPublic(Camel):
    kind: str  # "phone" or "document"
    value: str  # masked
    reason: str | None
    source: str
    created_at: datetime


class StoryEventPublic(Camel):
    at: datetime
    kind: str
    description: str
    ref: str | None


class StoryCasePublic(TargetPublic):
    campaign_name: str


class CustomerStoryPublic(Camel):
    """Every case of one CPF/CNPJ across campaigns, its promises, opt-outs, conversations and
    contacts, and all of it as one timeline (oldest first). Documents and phones masked."""

    client_document: str
    cases: list[StoryCasePublic]
    promises: list[PromisePublic]
    opt_outs: list[StoryOptOutPublic]
    conversations: list[ConversationPublic]
    contacts: list[datetime]
    events: list[StoryEventPublic]

    @classmethod
    def of(cls, story: CustomerStory) -> CustomerStoryPublic:
        return cls(
            client_document=mask_document(story.document),
            cases=[
                StoryCasePublic(
                    **TargetPublic.of(case).model_dump(), campaign_name=story.campaign_names[case.campaign_id]
                )
                for case in story.cases
            ],
            promises=[PromisePublic.of(promise) for promise in story.promises],
            opt_outs=[
                StoryOptOutPublic(
                    kind=optout.key.partition("#")[0],
                    value=mask_phone(optout.value)
                    if optout.key.startswith("phone#")
                    else mask_document(optout.value),
                    reason=optout.reason,
                    source=optout.source,
                    created_at=optout.created_at,
                )
                for optout in story.opt_outs
            ],
            conversations=[
                ConversationPublic.of(conversation, confirmed=story.confirmed[conversation.id])
                for conversation in story.conversations
            ],
            contacts=story.contacts,
            events=[StoryEventPublic.model_validate(vars(event)) for event in story.events],
        )


# --- stats and metrics ---


class KpiPublic(Camel):
    name: str
    value: Decimal
    numerator: int
    denominator: int
    goal: Decimal
    met: bool


class MoneyPublic(Camel):
    """The money KPIs, flat on `/stats` and `/api/voice/metrics`: amounts as decimal strings."""

    amount_in_collection: Decimal = Field(description="R$ open at import (every invoice the cases took)")
    amount_promised: Decimal = Field(description="R$ of the promises registered (renegotiated ones replaced)")
    amount_kept: Decimal = Field(description="R$ of the promises fulfilled")
    amount_recovered: Decimal = Field(
        description="R$ the CRM showed paid after a contact with the customer, partial payments included, "
        "each counted once on the day it was first seen"
    )
    amount_self_cured: Decimal = Field(
        description="R$ the CRM showed paid before any contact with the customer"
    )
    recovery_rate: Decimal = Field(description="amountRecovered / amountInCollection, percent")
    average_days_to_pay: Decimal | None = Field(description="days from first contact to payment, on average")

    @staticmethod
    def fields(money: MoneyStats) -> dict[str, Decimal | None]:
        """The wire fields of the engine's money KPIs."""
        return {
            "amount_in_collection": money.in_collection,
            "amount_promised": money.promised,
            "amount_kept": money.kept,
            "amount_recovered": money.recovered,
            "amount_self_cured": money.self_cured,
            "recovery_rate": money.recovery_rate,
            "average_days_to_pay": money.average_days_to_pay,
        }


class CampaignStatsPublic(MoneyPublic):
    total_targets: int
    pending: int
    scheduled: int
    calling: int
    contacted: int
    completed: int
    states: dict[str, int]
    outcomes: dict[str, int]
    reached: int = Field(description="targets contacted at least once (the funnel's first step)")
    responded: int
    promised: int
    promises: int = Field(description="promises registered, less those a renegotiation replaced")
    fulfilled: int
    broken: int
    paid: int
    self_cured: int = Field(description="customers who paid before any contact (not in the conversion rate)")
    channels: dict[str, int]
    kpis: list[KpiPublic]


class DayPublic(Camel):
    day: date
    contacts: int
    responses: int
    promises: int
    kept: int
    amount_recovered: Decimal = Field(
        description="R$ first seen paid after contact that day (`amountRecovered`), less what a "
        "supervisor's correction of a paid outcome took out that day (then it may be negative): the days "
        "add up to the campaign's `amountRecovered`"
    )


class ChannelShare(Camel):
    count: int
    percentage: Decimal


class WhatsAppChannelPublic(Camel):
    """The WhatsApp channel's breaker: the dashboard shows a red banner while `blocked`."""

    instance: str
    blocked: bool
    reason: str | None = Field(description="disconnected | send_disconnected | reach_out_refused")
    message: str | None = Field(description="why outreach is paused, in Portuguese")
    since: datetime | None


class MetricsPublic(MoneyPublic):
    total_calls: int
    total_whats_app_messages: int = Field(
        serialization_alias="totalWhatsAppMessages", alias="totalWhatsAppMessages"
    )
    total_contacts: int
    pending_promises: int
    fulfilled_promises: int
    broken_promises: int
    self_cured: int = Field(description="customers who paid before any contact (not in the conversion rate)")
    conversion_rate: Decimal = Field(description="customers who paid after a contact / customers contacted")
    breakdown: dict[str, ChannelShare]
    short_calls_today: int = Field(description="today's ended calls of 6 s or less (AMD hang-ups included)")
    short_call_share_today: Decimal = Field(description="short calls / today's ended calls, in percent")
    dialing_slowed: bool = Field(
        description="short calls passed SHORT_CALL_MAX_SHARE: voice dials at half speed"
    )
    whatsapp_channel: WhatsAppChannelPublic
