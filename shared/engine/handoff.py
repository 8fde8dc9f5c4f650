"""Human handoff (SPEC §4): who handles a conversation — the assistant or a person at the desk.

A conversation goes `transferred` when the assistant's `transferir_para_humano` tool or a supervisor
hands it over, or when an agent takes it (`take`, or by replying, `shared.engine.desk`). While it is
transferred the assistant stays silent in it and the customer is *held*: no campaign contacts their
phone or document (the pre-send guard reads the hold items, `shared.data.conversations.held`) — but
whether she paid meanwhile is still read from the CRM every `cadence.HOLD_RETRY`: by the guards for a
pending case, by upkeep for a contacted one (`shared.engine.cadence.await_desk`), so the desk never
collects what she paid. It waits in the desk's queue until a human answers. `resolve` ends it;
`release` gives it back to the assistant; both lift the hold — with it, of every other conversation of
the customer the same agent holds (a call and the WhatsApp the agent answered it on) — and a case
still waiting on the desk follows the cadence again. Every change is one conditional transaction on
what was read (two agents taking the same conversation: one wins, the other gets `Conflict`), and each
leaves a system note in the thread with who did it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import conversations, messages
from shared.data import targets as targets_data
from shared.domain.agent_hours import parse_agent_hours
from shared.domain.cadence import STANDING_OUTCOMES
from shared.domain.errors import Conflict
from shared.domain.models import OPEN_TARGET_STATES, Conversation, ConversationStatus, Outcome, Sender
from shared.domain.phones import timezone_for_phone
from shared.engine import cadence

SUPERVISOR_REASON = "supervisor"
ASSISTANT = "assistant"


def transfer(
    conversation_id: str, *, by: str, reason: str | None = None, with_case: bool = True
) -> Conversation:
    """Hand the conversation to the desk: `transferred`, waiting in the queue, the customer held; its
    target's outcome becomes `transferred` — unless not `with_case` (the assistant's transfer for a
    person who is neither confirmed nor at the case's own number: a human talks to them, the customer's
    case is left as it is), and unless the case is closed or waits on a promise, a payment claim or an
    opt-out (its outcome says more). A conversation already transferred is returned as is."""
    conversation = conversations.get(conversation_id)
    if conversation.status is ConversationStatus.TRANSFERRED:
        return conversation
    return _transfer(
        conversation, by=by, reason=reason or SUPERVISOR_REASON, assignee=None, with_case=with_case
    )


def take(conversation_id: str, *, by: str) -> Conversation:
    """`by` takes the conversation (transferring it first if the assistant still has it); `Conflict`
    when another agent has it. Taking one's own conversation again changes nothing."""
    conversation = conversations.get(conversation_id)
    if conversation.assignee == by and conversation.status is ConversationStatus.TRANSFERRED:
        return conversation
    if conversation.status is not ConversationStatus.TRANSFERRED:
        return _transfer(conversation, by=by, reason=SUPERVISOR_REASON, assignee=by)
    refuse_if_taken(conversation, by)
    taken = conversations.update_handling(
        conversation,
        expect={"status": ConversationStatus.TRANSFERRED, "assignee": None},
        hold=True,
        assignee=by,
    )
    _note(conversation_id, f"Conversa assumida por {by}", by)
    logger.info("conversation taken", conversation_id=conversation_id, by=by)
    return taken


def resolve(conversation_id: str, *, by: str) -> Conversation:
    """End the human's case: `resolved` (by whom, when), out of the queue, the hold lifted. The
    assistant answers the customer's next message again."""
    return _end_hold(
        conversation_id,
        ConversationStatus.RESOLVED,
        by=by,
        note=f"Conversa resolvida por {by}",
        resolved_by=by,
        resolved_at=clock.now(),
    )


def release(conversation_id: str, *, by: str) -> Conversation:
    """Give the conversation back to the assistant: out of the queue, unassigned, the hold lifted."""
    return _end_hold(
        conversation_id,
        ConversationStatus.AI,
        by=by,
        note=f"Conversa devolvida à assistente virtual por {by}",
        assignee=None,
    )


def _end_hold(
    conversation_id: str, to: ConversationStatus, *, by: str, note: str, **changes: Any
) -> Conversation:
    """Move the conversation out of the human's hands to `to` (already there: returned as is), out of
    the queue and with the customer's hold lifted, leaving `note` in the thread; a case still waiting
    on the desk follows the cadence again (`shared.engine.cadence.resume_after_desk`). The agent holds
    the customer, not one thread: the other conversations of the customer (phone or document) the same
    agent holds — the call whose callback the agent wrote on the customer's WhatsApp — end with it."""
    conversation = conversations.get(conversation_id)
    if conversation.status is to:
        return conversation
    ended = _let_go(conversation, {"status": conversation.status}, to, by=by, note=note, **changes)
    if conversation.assignee is None:
        return ended
    for other in conversations.holding(conversation.phone, conversation.document):
        if other.id == conversation.id or other.assignee != conversation.assignee:
            continue
        expect = {"status": ConversationStatus.TRANSFERRED, "assignee": conversation.assignee}
        try:
            _let_go(other, expect, to, by=by, note=note, **changes)
        except Conflict:  # taken, resolved or released meanwhile
            logger.info("held conversation left as it is: it changed meanwhile", conversation_id=other.id)
    return ended


def _let_go(
    conversation: Conversation,
    expect: dict[str, Any],
    to: ConversationStatus,
    *,
    by: str,
    note: str,
    **changes: Any,
) -> Conversation:
    ended = conversations.update_handling(
        conversation,
        expect=expect,
        hold=False,
        status=to,
        waiting_since=None,
        last_activity_at=clock.now(),
        **changes,
    )
    _note(conversation.id, note, by)
    if conversation.target_id:
        cadence.resume_after_desk(conversation.target_id)
    logger.info("conversation left the desk", conversation_id=conversation.id, status=to.value, by=by)
    return ended


def desk_opens(conversation: Conversation, at: datetime) -> datetime | None:
    """When a person at the desk next answers the customer of `conversation` (HUMAN_AGENT_HOURS on
    weekdays but national holidays, in the customer's zone, as an aware time there); None while the
    desk is open at `at`."""
    tz = timezone_for_phone(conversation.phone)
    opens = parse_agent_hours(get_settings().human_agent_hours).next_opening(at, tz)
    return None if opens == at else opens


def is_silenced(conversation: Conversation) -> bool:
    """The assistant never answers in a conversation a human has taken over."""
    return conversation.status is ConversationStatus.TRANSFERRED


def refuse_if_taken(conversation: Conversation, by: str) -> None:
    """`Conflict` (code `conversation_taken`) when another agent has the conversation."""
    if conversation.assignee is not None and conversation.assignee != by:
        raise Conflict(f"conversa já assumida por {conversation.assignee}", code="conversation_taken")


def _transfer(
    conversation: Conversation, *, by: str, reason: str, assignee: str | None, with_case: bool = True
) -> Conversation:
    now = clock.now()
    transferred = conversations.update_handling(
        conversation,
        expect={"status": conversation.status},
        hold=True,
        status=ConversationStatus.TRANSFERRED,
        assignee=assignee,
        handoff_reason=reason,
        transferred_at=now,
        waiting_since=now,
        first_human_reply_at=None,
        resolved_by=None,
        resolved_at=None,
        last_activity_at=now,
    )
    note = f"Conversa transferida para atendimento humano: {reason}"
    if by != ASSISTANT:
        note += f" (por {by})"
    _note(conversation.id, note, by)
    if assignee is not None:
        _note(conversation.id, f"Conversa assumida por {assignee}", assignee)
    if conversation.target_id and with_case:
        try:
            case = targets_data.update(
                conversation.target_id,
                in_states=OPEN_TARGET_STATES,
                unless_outcomes=STANDING_OUTCOMES,
                outcome=Outcome.TRANSFERRED,
                outcome_details=note,
            )
        except Conflict as exc:
            logger.info("target not marked transferred", target_id=conversation.target_id, reason=exc.message)
        else:
            cadence.await_desk(case)
    logger.info("conversation transferred", conversation_id=conversation.id, by=by)
    return transferred


def _note(conversation_id: str, text: str, by: str) -> None:
    messages.record(conversation_id, Sender.SYSTEM, text, author=by)
