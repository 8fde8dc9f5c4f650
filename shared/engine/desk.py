"""The human agent desk: an agent's WhatsApp reply (and its retry), a promise the agent records for the
customer, the queue of customers waiting for a person, the conversations people hold (no timeout: a
supervisor finds the stale ones there), and how long customers waited for the first human reply.

A reply is stored first (sender `agent`, the agent's subject as author, delivery `pending`), then sent
through Evolution: sent, it carries Evolution's id (receipts move it on); refused or unreachable, it is
marked `failed` — visible in the thread and retried by the agent (`retry`) — and the error goes up
(Evolution down: 503). Nothing an agent writes is lost silently. On `cloud` (WhatsApp's Cloud API) free
text goes only inside the 24 h window the customer's last message opened: outside it the reply (or
retry) is refused (`whatsapp_window_closed`) before anything is stored, taken or sent; `reply_blocked`
says so beforehand (the dashboard's reply box, the call's handover). A customer who opted out (phone or
document) is not written to on the desk's own initiative either: the reply (or retry) is refused
(`opted_out`) unless the customer's last WhatsApp message is newer than the opt-out — they wrote, and
may be answered (`shared.engine.optouts.may_answer`). Recording a promise the customer made sends
nothing and stays allowed. Replying takes the conversation over when the assistant (or nobody) still
had it, and takes it out of the queue; a customer's next message puts it back (`customer_waiting`).

A call's conversation has no WhatsApp of its own: the agent's reply goes to the customer's WhatsApp
conversation, which the same agent takes (held: Lia stays silent there, and the customer's answer lands
in the queue), and is recorded on the call's conversation — the one the agent is looking at.

What the desk shows of the customer's debt (`customer_debt`) is what the CRM last showed on her cases,
with when; a person holding her does not stop the CRM being read (`shared.engine.upkeep`), and the agent
may ask it now (`check_payment`), so nobody at the desk collects what she already paid. The queue says it
of each waiting conversation's own case (`queue_debts`: the page's cases in one BatchGet, never a query
per conversation), and never of a conversation whose customer is not known.

The time to the first human reply (handoff → first reply sent) is counted in one counters item as a
histogram of whole minutes (a day or more in the last bucket), so the median and p90 are one GetItem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final, NamedTuple

from shared.adapters import clients
from shared.adapters.evolution import EvolutionRejected, EvolutionUnavailable, NotOnWhatsApp
from shared.core import clock
from shared.core.observability import logger
from shared.data import conversations, counters, messages
from shared.data import targets as targets_data
from shared.domain.chat_ids import channel_of
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.models import (
    OPEN_TARGET_STATES,
    Channel,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Message,
    Outcome,
    PaymentMethod,
    Promise,
    Sender,
    Target,
)
from shared.domain.money import format_brl, parse_money
from shared.domain.pages import Page
from shared.domain.phones import timezone_for_phone
from shared.engine import handoff, optouts, payments, promises, whatsapp_out
from shared.engine.conversations import find_whatsapp, open_conversation

MAX_TEXT: Final = 4096  # WhatsApp's own limit for one text message
COUNTER_SCOPE: Final = "desk"
_MINUTES: Final = "first_reply_min:"
_LAST_BUCKET: Final = 24 * 60
_ZERO: Final = Decimal("0.00")


class ReplyBlocked(StrEnum):
    """Why an agent's reply cannot go to the customer now."""

    OPTED_OUT = "opted_out"  # the customer opted out and has not written since
    WINDOW_CLOSED = "whatsapp_window_closed"  # `cloud`, outside the customer's 24 h window


_REFUSALS: Final = {
    ReplyBlocked.OPTED_OUT: "the customer opted out and has not written since: nobody writes to them on "
    "our own initiative (they may be answered once they write again); nothing was sent",
    ReplyBlocked.WINDOW_CLOSED: "the customer's 24 h WhatsApp window is closed: free text can go only "
    "after the customer writes again (outside the window only an approved template can be sent); "
    "nothing was sent",
}


@dataclass(frozen=True)
class ReplyTimes:
    """Time to the first human reply after a handoff, in whole minutes (None before any reply)."""

    count: int
    median_minutes: int | None
    p90_minutes: int | None


def reply(conversation_id: str, text: str, *, by: str) -> Message:
    """Send the agent's `text` to the customer and store it (see the module docstring).

    `InvalidInput` for an empty or over-long text; `Conflict` when another agent has the conversation,
    or `reply_blocked` says why not (opted out, the 24 h window closed on `cloud`); `EvolutionUnavailable`
    (the message is then stored as `failed`)."""
    if not text.strip():
        raise InvalidInput("a mensagem está vazia", code="empty_text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"a mensagem passa de {MAX_TEXT} caracteres", code="text_too_long")
    chat = _whatsapp_of(conversations.get(conversation_id), by)  # a call's: taken first (or Conflict)
    conversation = _own(conversation_id, by)
    message = messages.record(
        conversation.id, Sender.AGENT, text, delivery_status=DeliveryStatus.PENDING, author=by
    )
    return _send(conversation, message, chat)


def retry(conversation_id: str, message_id: str, *, by: str) -> Message:
    """Send a `failed` agent message again (the same message, not a copy); `Conflict` when it is not
    a failed agent message (or another retry has it)."""
    message = messages.find(conversation_id, message_id)
    if message.sender is not Sender.AGENT or message.delivery_status is not DeliveryStatus.FAILED:
        raise Conflict("só uma mensagem de atendente que falhou pode ser reenviada", code="not_retryable")
    chat = _whatsapp_of(conversations.get(conversation_id), by)
    conversation = _own(conversation_id, by)
    claimed = messages.update_delivery(message, DeliveryStatus.PENDING, expect=DeliveryStatus.FAILED)
    return _send(conversation, claimed, chat)


def promise(
    conversation_id: str,
    *,
    amount: str,
    day: date,
    by: str,
    payment_method: PaymentMethod | None = None,
    notes: str | None = None,
) -> Promise:
    """The customer's promise to pay `amount` (`150,00`, `R$ 1.234,56`...) by the end of `day`, recorded
    by the agent `by` who holds the conversation (taken when nobody has it): the assistant's own rules
    (`shared.engine.promises.register_for_case`: the CRM's open total, every case of the document
    deferred to the promise's end), on the conversation's customer and case; a note in the thread says
    who recorded what. `InvalidInput` for an amount that is not money (or a `PromiseRejected` rule);
    `Conflict` when another agent has the conversation, its customer is not known (`no_customer`) or
    owes nothing; `NotFound` when the CRM does not know the customer."""
    # Imported here: the inbound worker imports this module, and only a promise needs the assistant.
    from shared.assistant.tools import ToolContext

    value = parse_money(amount)
    conversation = _own(conversation_id, by)
    ctx = ToolContext.for_conversation(conversation, channel_of(conversation.chat_id))
    document = ctx.document
    if document is None:
        raise Conflict(
            "a conversa não tem um cliente identificado: nenhuma promessa registrada", code="no_customer"
        )
    registered = promises.register_for_case(
        ctx.reading(document),
        document=document,
        amount=value,
        day=day,
        tz=ctx.tz,
        target=ctx.target,
        conversation_id=conversation.id,
        payment_method=payment_method,
        notes=notes,
        billing=ctx.crm_client(),
    )
    messages.record(
        conversation.id,
        Sender.SYSTEM,
        f"Promessa registrada por {by}: {format_brl(registered.amount)} até {registered.due_date:%d/%m/%Y}",
        author=by,
    )
    logger.info(
        "promise recorded at the desk", conversation_id=conversation.id, promise_id=registered.id, by=by
    )
    return registered


def reply_blocked(conversation: Conversation) -> ReplyBlocked | None:
    """Why an agent's reply cannot go to the customer now, or None when it can: `OPTED_OUT` when the
    conversation's phone or document opted out and the customer has not written on WhatsApp since;
    `WINDOW_CLOSED` on `cloud` outside the 24 h window. Both are read on the customer's WhatsApp
    conversation: the conversation itself, or for a call the customer's (none yet: never wrote, window
    closed). Reads only: nothing is opened or taken."""
    return _reply_blocked(conversation, optouts.opted_out_at(conversation.phone, conversation.document))


def replies_blocked(page: Sequence[Conversation]) -> dict[str, ReplyBlocked | None]:
    """`reply_blocked` of each conversation of `page`, by id, their opt-outs read together (a list of
    conversations reads them once, not once per conversation)."""
    opted_out = optouts.opted_out_at_each([(c.phone, c.document) for c in page])
    return {c.id: _reply_blocked(c, opted_out[(c.phone, c.document)]) for c in page}


def _reply_blocked(conversation: Conversation, opted_out_at: datetime | None) -> ReplyBlocked | None:
    voice = channel_of(conversation.chat_id) is Channel.VOICE
    if opted_out_at is not None:
        chat = find_whatsapp(conversation.phone) if voice else conversation
        if not optouts.may_answer(opted_out_at, chat.last_inbound_at if chat else None):
            return ReplyBlocked.OPTED_OUT
    if voice:
        reachable = whatsapp_out.may_send_free_text(conversation.phone)
    else:
        reachable = whatsapp_out.free_text_open(conversation)
    return None if reachable else ReplyBlocked.WINDOW_CLOSED


class CustomerDebt(NamedTuple):
    """What the desk shows of the conversation's customer's debt, as the CRM last showed it on her cases
    (so the agent never collects what she paid): `cases`, her open ones and those closed paid, oldest
    first; `open_amount`, what the open ones still show collectible (their imported debt where the CRM
    was never read); `paid_amount`, what the CRM showed paid of them all (a case closed paid: its whole
    debt); `checked_at`, the oldest read among the open cases (the newest among the paid ones when
    none is open; None: never read)."""

    cases: tuple[Target, ...]
    open_amount: Decimal
    paid_amount: Decimal
    checked_at: datetime | None

    @property
    def settled(self) -> bool:
        """Nothing of hers is open and something was paid: the desk collects nothing."""
        return bool(self.cases) and not any(case.state in OPEN_TARGET_STATES for case in self.cases)


def customer_debt(conversation: Conversation) -> CustomerDebt | None:
    """What the desk shows of the conversation's customer's debt (see `CustomerDebt`), read from her
    cases (every campaign); None when the conversation has no known customer."""
    document = _document_of(conversation)
    return None if document is None else _debt_of(document)


def check_payment(conversation_id: str) -> CustomerDebt:
    """Ask the CRM now whether the conversation's customer paid, for the agent (nobody is contacted):
    applied to her cases as upkeep's look at a held customer is (`payments.check_open`), then what the
    desk shows. `Conflict` (`no_customer`) when the conversation has no known customer;
    `CrmUnavailable` when the CRM cannot answer (nothing changed)."""
    conversation = conversations.get(conversation_id)
    document = _document_of(conversation)
    if document is None:
        raise Conflict("a conversa não tem um cliente identificado", code="no_customer")
    today = clock.now().astimezone(timezone_for_phone(conversation.phone)).date()
    payments.check_open(document, crm=clients.crm(), today=today)
    return _debt_of(document)


def queue_debts(page: Sequence[Conversation]) -> dict[str, CustomerDebt | None]:
    """What the queue shows of each conversation's customer's debt, by id: `CustomerDebt` of the
    conversation's own case only (its campaign; the conversation shows every campaign), the page's cases
    read together (one BatchGet, no query per conversation). None when the conversation has no known
    customer (the same rule as `customer_debt`), no case of hers, or a case neither open nor paid."""
    cases = targets_data.get_many({c.target_id for c in page if c.target_id is not None})
    debts: dict[str, CustomerDebt | None] = {}
    for conversation in page:
        case = cases.get(conversation.target_id) if conversation.target_id is not None else None
        document = _document_given(conversation, case)
        debt = None if document is None or case is None or case.document != document else _debt_from([case])
        debts[conversation.id] = debt if debt is not None and debt.cases else None
    return debts


def _document_of(conversation: Conversation) -> str | None:
    case = None
    if conversation.document is None and conversation.target_id is not None:
        try:
            case = targets_data.get(conversation.target_id, consistent=False)
        except NotFound:
            pass
    return _document_given(conversation, case)


def _document_given(conversation: Conversation, case: Target | None) -> str | None:
    """The conversation's customer's document, None when she is not known: its own, else its case's
    (`case`: the conversation's case as read, None when it has none or it is gone)."""
    if conversation.document is not None:
        return conversation.document
    return None if case is None else case.document


def _debt_of(document: str) -> CustomerDebt:
    return _debt_from(targets_data.by_document(document))


def _debt_from(found: Sequence[Target]) -> CustomerDebt:
    cases = tuple(case for case in found if case.state in OPEN_TARGET_STATES or case.outcome is Outcome.PAID)
    open_cases = [case for case in cases if case.state in OPEN_TARGET_STATES]
    open_amount = sum(
        (case.debt_amount if case.open_amount is None else case.open_amount for case in open_cases),
        _ZERO,
    )
    paid_amount = sum(
        (case.debt_amount if case.outcome is Outcome.PAID else case.paid_amount or _ZERO for case in cases),
        _ZERO,
    )
    reads = [case.open_amount_at for case in open_cases or cases]
    checked_at = None
    if reads and all(at is not None for at in reads):
        known = [at for at in reads if at is not None]
        checked_at = min(known) if open_cases else max(known)
    return CustomerDebt(cases, open_amount, paid_amount, checked_at)


def customer_waiting(conversation: Conversation, at: datetime) -> None:
    """A customer wrote in a conversation a human has: back in the queue, unless already waiting."""
    if conversation.status is not ConversationStatus.TRANSFERRED or conversation.waiting_since is not None:
        return
    try:
        conversations.update_handling(
            conversation,
            expect={"status": ConversationStatus.TRANSFERRED, "queue": None},
            hold=True,
            waiting_since=at,
        )
    except Conflict:  # resolved, released or already queued meanwhile
        logger.info("conversation not queued again: it changed meanwhile", conversation_id=conversation.id)


def queue(limit: int, cursor: str | None) -> Page[Conversation]:
    """The customers waiting for a human's answer, longest wait first."""
    return conversations.queue_page(limit=limit, cursor=cursor)


def waiting_count() -> int:
    """How many customers wait for a human's answer."""
    return conversations.queue_length()


def held(limit: int, cursor: str | None) -> Page[Conversation]:
    """The conversations people hold, the longest untouched first: a hold has no timeout (a person has
    the customer), so this is where a supervisor finds the ones nobody ends."""
    return conversations.held_page(limit=limit, cursor=cursor)


def held_count() -> int:
    """How many conversations people hold."""
    return conversations.held_count()


def reply_times() -> ReplyTimes:
    """The median and p90 of the time to the first human reply (nearest rank over the histogram)."""
    histogram = sorted(
        (int(name.removeprefix(_MINUTES)), count)
        for name, count in counters.read(COUNTER_SCOPE).items()
        if name.startswith(_MINUTES) and count > 0
    )
    total = sum(count for _, count in histogram)
    if not total:
        return ReplyTimes(0, None, None)
    return ReplyTimes(total, _rank(histogram, total, 0.5), _rank(histogram, total, 0.9))


def _own(conversation_id: str, by: str) -> Conversation:
    """The conversation, taken by `by` when it is not already theirs (`Conflict` if another's)."""
    conversation = conversations.get(conversation_id)
    handoff.refuse_if_taken(conversation, by)
    if conversation.status is ConversationStatus.TRANSFERRED and conversation.assignee == by:
        return conversation
    return handoff.take(conversation_id, by=by)


def _whatsapp_of(conversation: Conversation, by: str) -> Conversation:
    """Where an agent's reply is sent: the conversation itself, or for a call the customer's WhatsApp
    conversation, taken by `by` (`Conflict` when another agent has it)."""
    if channel_of(conversation.chat_id) is Channel.WHATSAPP:
        _refuse_blocked(conversation)
        return conversation
    handoff.refuse_if_taken(conversation, by)  # the call's own taker first: nothing moves on a Conflict
    _refuse_blocked(conversation)  # read from the customer's WhatsApp before one is opened
    target = None
    if conversation.target_id:
        try:
            target = targets_data.get(conversation.target_id)
        except NotFound:
            logger.warning("call's target is gone", conversation_id=conversation.id)
    chat = open_conversation(Channel.WHATSAPP, conversation.phone, target=target)
    logger.info("agent reply to a call goes to WhatsApp", conversation_id=conversation.id, chat_id=chat.id)
    return _own(chat.id, by)


def _refuse_blocked(conversation: Conversation) -> None:
    """`Conflict` with its code when the agent may not write to the customer now (`reply_blocked`)."""
    blocked = reply_blocked(conversation)
    if blocked is not None:
        raise Conflict(_REFUSALS[blocked], code=blocked.value)


def _send(conversation: Conversation, message: Message, chat: Conversation) -> Message:
    """Send `message` (stored on `conversation`) on `chat`'s WhatsApp."""
    try:
        sent = clients.whatsapp().send_text(chat.phone, message.content)
    except (EvolutionUnavailable, NotOnWhatsApp, EvolutionRejected) as exc:
        messages.update_delivery(message, DeliveryStatus.FAILED)
        logger.warning(
            "agent reply not sent: kept as failed",
            conversation_id=conversation.id,
            message_id=message.id,
            error_code=exc.code,
        )
        raise
    if sent.id is not None:
        message = messages.update_delivery(message, DeliveryStatus.PENDING, external_id=sent.id)
    _answered(conversation)
    if chat.id != conversation.id:
        _answered(chat)
    logger.info("agent reply sent", conversation_id=conversation.id, message_id=message.id)
    return message


def _answered(conversation: Conversation) -> None:
    """Out of the queue; the first human reply since the handoff is timed."""
    now = clock.now()
    first = conversation.first_human_reply_at is None and conversation.transferred_at is not None
    expect: dict[str, ConversationStatus | None] = {"status": ConversationStatus.TRANSFERRED}
    changes: dict[str, datetime | None] = {"waiting_since": None, "last_activity_at": now}
    if first:
        expect["first_human_reply_at"] = None
        changes["first_human_reply_at"] = now
    try:
        conversations.update_handling(conversation, expect=expect, hold=True, **changes)
    except Conflict:  # resolved, released or answered by a concurrent reply meanwhile
        logger.info("reply bookkeeping skipped: conversation changed", conversation_id=conversation.id)
        return
    if first:
        assert conversation.transferred_at is not None
        minutes = math.ceil((now - conversation.transferred_at).total_seconds() / 60)
        counters.increment(COUNTER_SCOPE, f"{_MINUTES}{min(max(minutes, 0), _LAST_BUCKET)}")


def _rank(histogram: list[tuple[int, int]], total: int, quantile: float) -> int:
    needed = max(1, math.ceil(quantile * total))
    seen = 0
    for minutes, count in histogram:
        seen += count
        if seen >= needed:
            return minutes
    return histogram[-1][0]
