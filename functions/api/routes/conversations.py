"""`/api/voice/conversations`: the collection conversations, their threads, human handoff and the
agent desk (the queue, an agent's reply and its retry, a promise recorded by the agent, the customer's
debt checked with the CRM, take / resolve / release)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response

from functions.api.auth import Role
from functions.api.deps import AuthenticateFirst, Supervisor, Viewer
from functions.api.pagination import paged
from functions.api.schemas import (
    AgentReply,
    ConversationDetail,
    ConversationPublic,
    CustomerDebtPublic,
    DeskHeld,
    DeskPromise,
    DeskQueue,
    DisclosurePublic,
    HeldEntry,
    MessagePublic,
    PromisePublic,
    QueueDebtPublic,
    QueueEntry,
    ReplyTimesPublic,
)
from shared.core import clock
from shared.domain.models import Conversation, ConversationSource, ConversationStatus
from shared.engine import desk, handoff, identity, inbox

router = APIRouter(prefix="/api/voice/conversations", tags=["conversations"], route_class=AuthenticateFirst)


@router.get("", response_model=list[ConversationPublic])
def list_conversations(
    _: Viewer,
    response: Response,
    source: ConversationSource | None = None,
    status: ConversationStatus | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> list[ConversationPublic]:
    """Most recent activity first; `source` is the seed's filter (inbound / whatsapp_campaign /
    voice_campaign)."""
    page = inbox.list_page(source=source, status=status, limit=limit, cursor=cursor)
    return paged(response, page, _converter(page.items))


@router.get("/queue", response_model=DeskQueue)
def queue(
    _: Viewer, response: Response, limit: int = Query(50, ge=1, le=200), cursor: str | None = None
) -> DeskQueue:
    """Customers waiting for a human's answer, longest wait first (each with why the desk cannot reply
    now, if it cannot, and `debt`: settled or the open amount on its case, null without a known
    customer), with how many wait in all and the time to the first human reply (median, p90)."""
    now = clock.now()
    page = desk.queue(limit, cursor)
    public = _converter(page.items)
    blocked = desk.replies_blocked(page.items)
    debts = desk.queue_debts(page.items)

    def entry(conversation: Any) -> QueueEntry:
        waited = now - (conversation.waiting_since or now)
        return QueueEntry(
            **public(conversation).model_dump(),
            waiting_seconds=max(0, int(waited.total_seconds())),
            reason=conversation.handoff_reason or handoff.SUPERVISOR_REASON,
            reply_blocked_reason=blocked[conversation.id],
            debt=None if (debt := debts[conversation.id]) is None else QueueDebtPublic.of(debt),
        )

    times = desk.reply_times()
    return DeskQueue(
        waiting=desk.waiting_count(),
        first_human_reply=ReplyTimesPublic(
            count=times.count, median_minutes=times.median_minutes, p90_minutes=times.p90_minutes
        ),
        items=paged(response, page, entry),
    )


@router.get("/held", response_model=DeskHeld)
def held(
    _: Viewer, response: Response, limit: int = Query(50, ge=1, le=200), cursor: str | None = None
) -> DeskHeld:
    """The conversations people hold, the longest untouched first, each with who holds it, since when
    and how long it has been untouched: a hold has no timeout, so a supervisor ends the stale ones here
    (resolve or release)."""
    now = clock.now()
    page = desk.held(limit, cursor)
    public = _converter(page.items)

    def entry(conversation: Conversation) -> HeldEntry:
        def since(at: datetime | None) -> int | None:
            return None if at is None else max(0, int((now - at).total_seconds()))

        return HeldEntry(
            **public(conversation).model_dump(),
            held_seconds=since(conversation.transferred_at) or 0,
            idle_seconds=since(conversation.last_activity_at) or 0,
            waiting_seconds=since(conversation.waiting_since),
            reason=conversation.handoff_reason or handoff.SUPERVISOR_REASON,
        )

    return DeskHeld(held=desk.held_count(), items=paged(response, page, entry))


@router.get("/{conversation_id}", response_model=ConversationDetail)
def get_conversation(conversation_id: str, principal: Viewer) -> ConversationDetail:
    """The conversation with its whole thread (WhatsApp messages or the call transcript), what the CRM
    last showed of the customer's debt (`debt`, with when), for supervisors the log of every disclosure
    of a customer's data in it, and why the desk cannot reply
    now (`replyBlockedReason`: `opted_out` when the customer opted out and has not written since,
    `whatsapp_window_closed` outside the customer's 24 h window on `cloud`)."""
    conversation, messages = inbox.thread(conversation_id)
    thread = [_message(m) for m in messages]
    disclosures = (
        [DisclosurePublic.of(entry) for entry in conversation.disclosures]
        if principal.role >= Role.SUPERVISOR
        else None
    )
    debt = desk.customer_debt(conversation)
    return ConversationDetail(
        **_public(conversation).model_dump(),
        messages=thread,
        disclosures=disclosures,
        reply_blocked_reason=desk.reply_blocked(conversation),
        debt=None if debt is None else CustomerDebtPublic.of(debt),
    )


@router.post("/{conversation_id}/payment-check", response_model=CustomerDebtPublic)
def check_payment(conversation_id: str, _: Supervisor) -> CustomerDebtPublic:
    """Ask the CRM now whether the customer paid (nobody is contacted): a payment closes her cases as
    any payment does, a partial one is recorded; the debt as the desk then shows it. 409 `no_customer`
    when the conversation has no known customer; the CRM unreachable → 503, nothing changed."""
    return CustomerDebtPublic.of(desk.check_payment(conversation_id))


@router.post("/{conversation_id}/messages", response_model=MessagePublic, status_code=201)
def reply(conversation_id: str, body: AgentReply, principal: Supervisor) -> MessagePublic:
    """The agent writes to the customer on WhatsApp (taking the conversation over if needed); 409 with
    the `replyBlockedReason` as its code when the desk may not write now (`opted_out`,
    `whatsapp_window_closed`), nothing sent; Evolution down → 503 with the message kept as `failed` in
    the thread."""
    return _message(desk.reply(conversation_id, body.text, by=principal.subject))


@router.post("/{conversation_id}/messages/{message_id}/retry", response_model=MessagePublic)
def retry(conversation_id: str, message_id: str, principal: Supervisor) -> MessagePublic:
    """Send a failed agent message again."""
    return _message(desk.retry(conversation_id, message_id, by=principal.subject))


@router.post("/{conversation_id}/promises", response_model=PromisePublic, status_code=201)
def record_promise(conversation_id: str, body: DeskPromise, principal: Supervisor) -> PromisePublic:
    """The agent records the customer's promise (taking the conversation over if needed): the
    assistant's rules, every case of the customer deferred to the promise's end; 409 when another agent
    has the conversation or the customer owes nothing, 422 for a promise the rules refuse."""
    promise = desk.promise(
        conversation_id,
        amount=body.amount,
        day=body.due_date,
        by=principal.subject,
        payment_method=body.payment_method,
        notes=body.notes,
    )
    return PromisePublic.of(promise)


@router.post("/{conversation_id}/take", response_model=ConversationPublic)
def take(conversation_id: str, principal: Supervisor) -> ConversationPublic:
    """The agent takes the conversation; 409 when another agent has it."""
    return _public(handoff.take(conversation_id, by=principal.subject))


@router.post("/{conversation_id}/resolve", response_model=ConversationPublic)
def resolve(conversation_id: str, principal: Supervisor) -> ConversationPublic:
    """End the human's case: resolved, out of the queue, campaigns may contact the customer again."""
    return _public(handoff.resolve(conversation_id, by=principal.subject))


@router.post("/{conversation_id}/transfer", response_model=ConversationPublic)
def transfer(conversation_id: str, principal: Supervisor) -> ConversationPublic:
    """Hand the conversation to a human: the assistant stays silent in it from now on."""
    return _public(handoff.transfer(conversation_id, by=principal.subject))


@router.post("/{conversation_id}/release", response_model=ConversationPublic)
def release(conversation_id: str, principal: Supervisor) -> ConversationPublic:
    """Give the conversation back to the assistant (out of the queue, the hold lifted)."""
    return _public(handoff.release(conversation_id, by=principal.subject))


def _message(message: Any) -> MessagePublic:
    return MessagePublic.model_validate(message, from_attributes=True)


def _converter(conversations: Sequence[Conversation]) -> Callable[[Conversation], ConversationPublic]:
    """The public form of each of `conversations`, its `identityConfirmed` as it holds now (one read
    of their cases for the whole page)."""
    confirmed = identity.current_confirmations(conversations)
    return lambda conversation: ConversationPublic.of(conversation, confirmed=confirmed[conversation.id])


def _public(conversation: Conversation) -> ConversationPublic:
    return _converter([conversation])(conversation)
