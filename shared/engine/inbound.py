"""Inbound WhatsApp: what the webhook hands over (`enqueue`, `record_receipt`) and one turn of the
inbound worker (`handle`): a customer's message, ordered per chat by the FIFO queue, answered.

`enqueue` puts the message on the FIFO `inbound` queue, one message group per chat (the canonical
phone) and the Evolution message id as deduplication id, then claims the id in the dedupe table so
Evolution's retries are recognised. Enqueue comes first on purpose: a claim taken before a failed send
could not be given back, and Evolution's retry of a lost message would then be taken for a duplicate.
A retry enqueued again is harmless: SQS drops it within its 5-minute deduplication window, and `handle`
is idempotent on the message id after that.

A turn (`handle`):

1. The conversation of the chat (`shared.engine.conversations.open_conversation`: `whatsapp_<E.164>`,
   tolerant of the ninth digit), created with source `inbound` when the customer wrote first.
2. The customer's message is stored once: the thread's newest messages are read (the history the
   assistant answers from), and a redelivered job finds its message among them by its Evolution id —
   stored *and answered*, it does nothing; stored but unanswered (the reply failed), it is answered
   now, without storing the message again. The FIFO queue makes this enough: a chat's next job waits
   until the failing one succeeds or leaves for the dead-letter queue, so a redelivered message is
   the newest customer message of its chat (and the earlier attempt stored it a visibility timeout
   before: an eventually consistent read sees it). A job re-driven from the dead-letter queue after
   the thread went on for a whole history is looked for further back, from its WhatsApp time, and not
   answered. No index is written for a customer's message.
3. After the turn, a case that was awaiting this reply (or waiting to retry a message nobody
   answered) gets its follow-up unless the turn resolved it (`shared.engine.cadence.follow_up`); the
   target's RESPONDED milestone is counted (once), by that same write when there is one.
4. Opt-out keywords are honoured before any model call (the phone always; the customer's document
   only with a confirmed identity, `shared.assistant.actions.opt_out_conversation`) and confirmed, in
   a conversation a human holds too; otherwise a conversation a human took over gets no reply (the
   message is stored for the human, and the conversation waits in the desk's queue again); a non-text
   message gets a polite text-only note; anything else goes to the assistant.
5. The customer's message is marked read and the reply sent through Evolution, typing first
   (`shared.engine.whatsapp_out`), then stored (sender assistant, delivery pending). Evolution being
   unavailable raises, so SQS retries the job.

A turn writes its conversation once, when it ends (answered or not): `last_inbound_at` (the stored
message's time: on the `cloud` integration it opens the 24 h window in which the assistant and
outreach may write free text) with `last_activity_at`. A turn that fails before is retried whole.

The assistant (its tools, texts and dialogues) is imported by `handle` alone: the API's webhook, which
only enqueues and records receipts, does not load it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from shared.adapters import queues
from shared.adapters.evolution import NotOnWhatsApp
from shared.core import clock
from shared.core.jobs import InboundMessage
from shared.core.observability import logger
from shared.data import conversations, counters, dedupe, messages
from shared.data import targets as targets_data
from shared.domain.cadence import engagement_moves
from shared.domain.chat_ids import jid_number
from shared.domain.errors import NotFound
from shared.domain.models import (
    Channel,
    Conversation,
    DeliveryStatus,
    Message,
    Outcome,
    Sender,
    Target,
    TargetState,
)
from shared.domain.phones import normalize_phone, timezone_for_phone
from shared.engine import cadence, desk, handoff, identity, stats, whatsapp_out
from shared.engine.conversations import open_conversation

INBOUND_QUEUE = "inbound"
DEDUPE_TTL_SECONDS = 3 * 24 * 3600  # Evolution's retries of one webhook span minutes, not days
_STORED_RECEIPTS = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.FAILED})
HISTORY_LIMIT = 40  # newest messages read for one turn (the runner trims further)
WHATSAPP_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class TurnResult:
    """What one inbound turn did."""

    conversation_id: str
    replied: bool
    # assistant reply source ("model" / "fallback"), or "opt_out", "media", "silenced", "duplicate",
    # "not_on_whatsapp"
    reason: str
    wrong_number: bool = False  # the person said this number is not the customer's


def enqueue(job: InboundMessage) -> bool:
    """Queue a customer's message for its chat's worker; False when the message id was seen before."""
    queues.send(
        INBOUND_QUEUE,
        job.model_dump(by_alias=True, mode="json"),
        group_id=job.phone,
        dedup_id=job.message_id,
    )
    first = dedupe.claim(f"whatsapp-inbound#{job.message_id}", DEDUPE_TTL_SECONDS)
    if not first:
        logger.info("inbound message delivered again", message_id=job.message_id)
    return first


def record_receipt(external_id: str, status: DeliveryStatus) -> bool:
    """A delivery receipt for a message we sent; whether it changed the message's status (False: no
    stored message has that id, the message had passed that status, or the receipt is not stored).

    Stored: delivered, read, failed. A server ack is not (no request at all): it says WhatsApp's
    server, and our own phone, have the message, which Evolution's answer to the send already said.
    The first receipt from the phone stamps the message's `reached_at`; the case is not touched here:
    upkeep reads the stamp at the attempt's deadline (most customers who answer do so before it, and
    their reply moves the case anyway), so a receipt costs one query and one write."""
    if status not in _STORED_RECEIPTS:
        return False
    receipt = messages.set_delivery_status(external_id, status)
    return receipt is not None and receipt.message.delivery_status is not receipt.before


@counters.batched()
def handle(job: InboundMessage) -> TurnResult:
    """Process one inbound message end to end (see the module docstring)."""
    phone = normalize_phone(job.phone)
    conversation = open_conversation(Channel.WHATSAPP, phone, client_name=job.push_name)
    recent = messages.list_for(conversation.id, limit=HISTORY_LIMIT, newest_first=True)
    stored = next(
        (m for m in recent if m.sender is Sender.CUSTOMER and m.external_id == job.message_id), None
    )
    if stored is None and len(recent) == HISTORY_LIMIT and _stored_earlier(conversation.id, job, recent[-1]):
        logger.info("inbound message stored before the newest messages", conversation_id=conversation.id)
        return TurnResult(conversation.id, False, "duplicate")
    if stored is not None and _answered(conversation, recent, stored):
        logger.info("inbound message already answered", conversation_id=conversation.id)
        return TurnResult(conversation.id, False, "duplicate")
    if stored is None:
        text = job.text if job.text is not None else f"[mensagem sem texto: {job.message_type or 'mídia'}]"
        stored = messages.record(conversation.id, Sender.CUSTOMER, text, external_id=job.message_id)
        recent.insert(0, stored)
    conversation = conversation.model_copy(update={"last_inbound_at": stored.created_at})
    target = _target_of(conversation)
    result = _turn(conversation, job, recent[::-1], stored, target)
    if target is not None and result.wrong_number:
        _not_the_customer(target, conversation)
    elif target is not None:
        _engaged(target)
    return result


def _not_the_customer(target: Target, conversation: Conversation) -> None:
    """The person on the number the case was contacted on said it is not the customer's (the tool
    moved the case to its next phone, `identity.mark_wrong_number`): nobody was reached, so the
    attempt is concluded like an unanswered one, outcome `wrong_number` — no follow-up days later and
    no response counted. A case contacted on another phone meanwhile is left as it is."""
    if target.state is not TargetState.CONTACTED or target.phone != conversation.phone:
        return
    # Rare: the attempt's conclusion loads with the first such report.
    from shared.engine import postcall

    postcall.conclude_attempt(target, Outcome.WRONG_NUMBER, from_states=(TargetState.CONTACTED,))


def _engaged(target: Target) -> None:
    """The customer replied: unless the turn resolved the case, a case awaiting this reply gets its
    follow-up, whose transition marks the RESPONDED milestone; otherwise it is marked on its own."""
    responded = stats.Milestone.RESPONDED.value
    followed = None
    if engagement_moves(target):
        followed = cadence.follow_up(
            target,
            [target.state],
            label="Cliente respondeu no WhatsApp",
            milestone=responded,
            conversing=True,
        )
    if followed is None:
        stats.record_milestone(target.id, stats.Milestone.RESPONDED)


def _turn(
    conversation: Conversation,
    job: InboundMessage,
    history: list[Message],
    stored: Message,
    target: Target | None,
) -> TurnResult:
    """Answer the customer's message `stored`, the latest of `history` (oldest first): opt-out,
    silence, the media note, or the assistant."""
    # Imported here: the API's webhook imports this module, and only a turn needs the assistant.
    from shared.assistant import ToolContext, actions, respond, texts
    from shared.assistant.intents import is_opt_out_keyword

    if job.text is not None and is_opt_out_keyword(job.text):
        confirmed = identity.confirmed(conversation, target) and conversation.document is not None
        actions.opt_out_conversation(
            conversation, target, confirmed=confirmed, source="keyword", reason=job.text[:200]
        )
        # Confirmed even in a conversation a person holds: the desk may not write to her after it,
        # so this is the only answer she can get (the agent reads it in the thread).
        return _reply(conversation, job, stored, texts.opt_out_confirmation(), "opt_out")
    if handoff.is_silenced(conversation):  # the human sees the message, an opt-out too, in the queue
        logger.info("conversation is with a human: no assistant reply", conversation_id=conversation.id)
        desk.customer_waiting(conversation, stored.created_at)
        return _no_reply(conversation, stored, "silenced")
    if job.text is None:
        return _reply(conversation, job, stored, texts.MEDIA_NOTE, "media")

    ctx = ToolContext(
        conversation,
        target,
        Channel.WHATSAPP,
        timezone_for_phone(conversation.phone),
        customer_words=[(m.created_at, m.content) for m in history if m.sender is Sender.CUSTOMER],
    )
    reply = respond(ctx, history)
    result = _reply(ctx.conversation, job, stored, reply.text, reply.source)
    return replace(result, wrong_number=ctx.wrong_number_reported)


def _stored_earlier(conversation_id: str, job: InboundMessage, oldest_read: Message) -> bool:
    """Whether a job re-driven from the dead-letter queue carries a message stored before the newest
    messages read (so many came since). Such a message is not answered now either: the conversation
    has moved on. Read only when its WhatsApp time (which precedes its storing) is older than what was
    read: every new message of a long thread would otherwise read the thread again."""
    if job.timestamp is None:  # Evolution always sends `messageTimestamp`
        return False
    # The margin absorbs a clock skew between WhatsApp's servers and ours.
    since = datetime.fromtimestamp(job.timestamp, UTC) - WHATSAPP_CLOCK_SKEW
    if since >= oldest_read.created_at:
        return False
    return messages.customer_message_before(conversation_id, job.message_id, oldest_read, since) is not None


def _answered(conversation: Conversation, recent: list[Message], stored: Message) -> bool:
    """Whether an assistant reply (or, in a human's conversation, nothing) followed `stored` among the
    thread's `recent` messages (newest first)."""
    if handoff.is_silenced(conversation):
        return True
    for message in recent:
        if message.id == stored.id:
            return False
        if message.sender is Sender.ASSISTANT:
            return True
    return False


def _reply(
    conversation: Conversation, job: InboundMessage, stored: Message, text: str, reason: str
) -> TurnResult:
    number = _reply_number(job, conversation)
    whatsapp_out.mark_read(job.remote_jid, job.message_id)
    try:
        sent = whatsapp_out.reply(number, text)  # EvolutionUnavailable: SQS retries the job
    except NotOnWhatsApp:
        logger.warning("reply refused: number not on WhatsApp", conversation_id=conversation.id)
        return _no_reply(conversation, stored, "not_on_whatsapp")
    reply = messages.record(
        conversation.id, Sender.ASSISTANT, text, external_id=sent.id, delivery_status=DeliveryStatus.PENDING
    )
    _end_turn(conversation, stored, reply.created_at)
    logger.info("inbound message answered", conversation_id=conversation.id, reason=reason)
    return TurnResult(conversation.id, True, reason)


def _no_reply(conversation: Conversation, stored: Message, reason: str) -> TurnResult:
    _end_turn(conversation, stored, clock.now())
    return TurnResult(conversation.id, False, reason)


def _end_turn(conversation: Conversation, stored: Message, at: datetime) -> None:
    """The turn's one conversation write: the customer's message opens the window, activity now."""
    conversations.update(conversation.id, last_inbound_at=stored.created_at, last_activity_at=at)


def _reply_number(job: InboundMessage, conversation: Conversation) -> str:
    """Answer the WhatsApp account that wrote (its JID's number, which may lack the ninth digit)."""
    return jid_number(job.remote_jid) or conversation.phone


def _target_of(conversation: Conversation) -> Target | None:
    if not conversation.target_id:
        return None
    try:
        return targets_data.get(conversation.target_id)
    except NotFound:
        logger.warning("conversation's target is gone", conversation_id=conversation.id)
        return None
