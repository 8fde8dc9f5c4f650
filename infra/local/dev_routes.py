"""`/api/dev/*`: the sandbox's own routes — the virtual clock, the simulated customers and a WhatsApp
chat as one of them. Mounted only by the sandbox (`infra.local.sandbox`): the deployed API has no such
routes and answers 404. Supervisor token required, like any operation on the system.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from starlette.concurrency import run_in_threadpool

from functions.api.deps import Supervisor
from shared.domain.phones import normalize_phone

if TYPE_CHECKING:
    from infra.local.sandbox import Sandbox

LOCAL_ZONE = ZoneInfo("America/Sao_Paulo")
MAX_ADVANCE_MINUTES = 60 * 24 * 366


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ClockChange(BaseModel):
    """Exactly one of `advance_minutes` and `to`. `wait`: answer once the system has caught up."""

    model_config = ConfigDict(extra="forbid")

    advance_minutes: int | None = Field(default=None, ge=0, le=MAX_ADVANCE_MINUTES)
    to: AwareDatetime | None = None
    wait: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> ClockChange:
        if (self.advance_minutes is None) == (self.to is None):
            raise ValueError("give exactly one of advance_minutes and to")
        return self


class ClockPublic(_Camel):
    now: datetime
    local: datetime  # São Paulo wall clock
    flowing: bool
    settled: bool | None = None


class CustomerText(_Camel):
    text: str = Field(min_length=1, max_length=4096)


class ChatMessage(_Camel):
    index: int
    text: str


class ChatPublic(_Camel):
    phone: str
    messages: list[ChatMessage]  # what Lia sent to this number, oldest first


class CustomerPublic(_Camel):
    name: str
    phone: str
    document: str
    persona: str | None
    open_total: Decimal


class NewCustomer(_Camel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    phone: str
    document: str
    debt: Decimal = Field(gt=0, max_digits=12, decimal_places=2)


def dev_router(sandbox: Sandbox) -> APIRouter:
    """The dev routes of one running sandbox."""
    router = APIRouter(prefix="/api/dev", tags=["sandbox"])

    def clock_view(settled: bool | None = None) -> ClockPublic:
        now = sandbox.clock.now()
        return ClockPublic(
            now=now, local=now.astimezone(LOCAL_ZONE), flowing=sandbox.clock.flowing, settled=settled
        )

    @router.get("/clock", response_model=ClockPublic, response_model_exclude_none=True)
    def get_clock(_: Supervisor) -> ClockPublic:
        """The virtual clock."""
        return clock_view()

    @router.post("/clock", response_model=ClockPublic, response_model_exclude_none=True)
    async def move_clock(body: ClockChange, _: Supervisor) -> ClockPublic:
        """Jump the virtual clock forward: due schedules, retries and cron ticks then fire."""
        if body.to is not None:
            if body.to < sandbox.clock.now():
                raise HTTPException(status.HTTP_409_CONFLICT, detail="the clock cannot go backwards")
            sandbox.clock.set(body.to)
        else:
            sandbox.clock.advance(timedelta(minutes=body.advance_minutes or 0))
        settled = await run_in_threadpool(sandbox.settle, 60.0) if body.wait else None
        return clock_view(settled)

    @router.get("/customers", response_model=list[CustomerPublic])
    def customers(_: Supervisor) -> list[CustomerPublic]:
        """The simulated customers (with their CPF, to confirm identity when chatting as them)."""
        return [CustomerPublic.model_validate(c, from_attributes=True) for c in _customers(sandbox).listing()]

    @router.post("/customers", response_model=CustomerPublic, status_code=status.HTTP_201_CREATED)
    def add_customer(body: NewCustomer, _: Supervisor) -> CustomerPublic:
        """A customer the simulated CRM knows (one open invoice of `debt`), to import and chat with."""
        added = _customers(sandbox).add_manual(body.name, body.phone, body.document, body.debt)
        return CustomerPublic.model_validate(added, from_attributes=True)

    @router.post("/customers/{document}/payment", response_model=CustomerPublic)
    def pay(document: str, _: Supervisor) -> CustomerPublic:
        """The customer pays everything open now, as at the bank: the simulated CRM shows it and nobody
        is told (what a case that ended meanwhile learns from its late payment check)."""
        paid = _customers(sandbox).pays(document)
        if paid is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no simulated customer has this document")
        return CustomerPublic.model_validate(paid, from_attributes=True)

    @router.get("/whatsapp/{phone}", response_model=ChatPublic)
    def chat(phone: str, _: Supervisor, after: Annotated[int, Query(ge=0)] = 0) -> ChatPublic:
        """What the assistant sent to `phone` through the simulated Evolution API (from `after`)."""
        evolution = _evolution(sandbox)
        number = _phone(phone)
        texts = evolution.texts_to(number)
        return ChatPublic(
            phone=number, messages=[ChatMessage(index=i, text=t) for i, t in enumerate(texts) if i >= after]
        )

    @router.post("/whatsapp/{phone}", status_code=status.HTTP_202_ACCEPTED)
    async def say(phone: str, body: CustomerText, _: Supervisor) -> dict[str, Any]:
        """Write as the customer at `phone`: the simulated Evolution API posts the webhook to the API."""
        evolution = _evolution(sandbox)
        number = _phone(phone)
        message_id = await run_in_threadpool(evolution.customer_says, number, body.text)
        return {"messageId": message_id}

    return router


def _customers(sandbox: Sandbox) -> Any:
    if sandbox.simulators.crm is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="the CRM is external (CRM_API_URL): no simulated customers"
        )
    return sandbox.customers


def _evolution(sandbox: Sandbox) -> Any:
    if sandbox.simulators.evolution is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail="WhatsApp is external (EVOLUTION_API_URL): nothing to chat with here",
        )
    return sandbox.simulators.evolution


def _phone(raw: str) -> str:
    """E.164 digits; an invalid number is an `InvalidPhone` (422 through the API's error mapping)."""
    return normalize_phone(raw)
