"""The API's JSON shapes: camelCase on the wire, as the seed's routes are (`contactMethod`,
`scheduleStart`...). Domain objects are converted here and only here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, field_validator
from pydantic.alias_generators import to_camel

from shared.domain.masking import mask_document, mask_phone
from shared.domain.models import (
    CampaignStatus,
    Channel,
    ContactMethod,
    ConversationSource,
    ConversationStatus,
    DeliveryStatus,
    ImportStatus,
    Outcome,
    PaymentMethod,
    PromiseStatus,
    Sender,
    TargetState,
    UnlockStatus,
)
from shared.engine.customers import CustomerStory
from shared.engine.stats import MoneyStats

HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class Strict(Camel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# --- campaigns ---


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
    status: CampaignStatus | None = None

    @field_validator("trust_unlock")
    @classmethod
    def _not_null(cls, value: bool | None) -> bool:
        if value is None:  # omitted leaves it as it is; null is not a setting
            raise ValueError("trustUnlock must be true or false")
        return value


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


class TargetPublic(Camel):
    """One case: a customer in the campaign, with every invoice imported for them."""

    id: str
    campaign_id: str
    client_name: str
    phone_number: str  # the number outreach uses; masked, as every phone the API shows
    client_document: str
    invoices: list[InvoicePublic]
    debt_amount: Decimal
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
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, target: Any) -> TargetPublic:
        data = target.model_dump()
        data["phone_number"] = mask_phone(target.phone)
        data["client_document"] = mask_document(target.document)
        return cls.model_validate(data)


class TargetUpdate(Strict):
    """What a supervisor may correct on a target. State moves go through the engine's rules."""

    client_name: Name | None = None
    outcome_details: Annotated[str, StringConstraints(max_length=500)] | None = None
    next_attempt_at: datetime | None = None
    outcome: Outcome | None = None


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
    status: ConversationStatus
    assigned_assistant: str | None
    target_id: str | None
    campaign_id: str | None
    identity_confirmed: bool
    last_activity_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, conversation: Any) -> ConversationPublic:
        data = conversation.model_dump()
        data["chat_id"] = (
            "whatsapp_" + mask_phone(conversation.phone)
            if conversation.chat_id.startswith("whatsapp_")
            else conversation.chat_id
        )
        data["client_document"] = mask_document(conversation.document) if conversation.document else None
        data["phone_number"] = mask_phone(conversation.phone)
        data["conversation_source"] = conversation.source
        return cls.model_validate(data)


class MessagePublic(Camel):
    id: str
    sender: Sender
    content: str
    channel: Channel
    created_at: datetime
    delivery_status: DeliveryStatus | None
    is_from_campaign: bool


class ConversationDetail(ConversationPublic):
    messages: list[MessagePublic]


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
            conversations=[ConversationPublic.of(conversation) for conversation in story.conversations],
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
        description="R$ the CRM no longer shows open, of cases paid after contact"
    )
    amount_self_cured: Decimal = Field(description="R$ of cases paid before any contact")
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
    promises: int
    fulfilled: int
    broken: int
    paid: int
    channels: dict[str, int]
    kpis: list[KpiPublic]


class DayPublic(Camel):
    day: date
    contacts: int
    responses: int
    promises: int
    kept: int
    amount_recovered: Decimal


class ChannelShare(Camel):
    count: int
    percentage: Decimal


class MetricsPublic(MoneyPublic):
    total_calls: int
    total_whats_app_messages: int = Field(
        serialization_alias="totalWhatsAppMessages", alias="totalWhatsAppMessages"
    )
    total_contacts: int
    pending_promises: int
    fulfilled_promises: int
    broken_promises: int
    conversion_rate: Decimal
    breakdown: dict[str, ChannelShare]
