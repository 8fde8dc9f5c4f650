"""Human handoff (SPEC §4): a transferred conversation gets no assistant replies until released.
Used by the assistant's `transferir_para_humano` tool and by supervisors through the API."""

from __future__ import annotations

from shared.core import clock
from shared.core.observability import logger
from shared.data import conversations, messages
from shared.data import targets as targets_data
from shared.domain.errors import Conflict
from shared.domain.models import Conversation, ConversationStatus, Outcome, Sender


def transfer(
    conversation_id: str, *, by: str, reason: str | None = None, with_case: bool = True
) -> Conversation:
    """Mark the conversation as handled by a human; its target's outcome becomes `transferred` — unless
    not `with_case` (the assistant's transfer for a person who is neither confirmed nor at the case's
    own number: a human talks to them, the customer's case is left as it is)."""
    conversation = conversations.get(conversation_id)
    if conversation.status is ConversationStatus.TRANSFERRED:
        return conversation
    now = clock.now()
    conversation = conversations.update(
        conversation_id, status=ConversationStatus.TRANSFERRED, last_activity_at=now
    )
    note = "Conversa transferida para atendimento humano" + (f": {reason}" if reason else "")
    messages.record(conversation_id, Sender.SYSTEM, note)
    if conversation.target_id and with_case:
        try:
            targets_data.update(conversation.target_id, outcome=Outcome.TRANSFERRED, outcome_details=note)
        except Conflict as exc:
            logger.info("target not marked transferred", target_id=conversation.target_id, reason=exc.message)
    logger.info("conversation transferred", conversation_id=conversation_id, by=by)
    return conversation


def release(conversation_id: str, *, by: str) -> Conversation:
    """Give a transferred conversation back to the assistant."""
    conversation = conversations.get(conversation_id)
    if conversation.status is ConversationStatus.AI:
        return conversation
    now = clock.now()
    conversation = conversations.update(conversation_id, status=ConversationStatus.AI, last_activity_at=now)
    messages.record(conversation_id, Sender.SYSTEM, "Conversa devolvida à assistente virtual")
    logger.info("conversation released to the assistant", conversation_id=conversation_id, by=by)
    return conversation


def is_silenced(conversation: Conversation) -> bool:
    """The assistant never answers in a conversation a human has taken over."""
    return conversation.status is ConversationStatus.TRANSFERRED
