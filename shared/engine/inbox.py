"""What supervisors read of the collection conversations: the list, and one conversation with its
thread. Taking a conversation over and giving it back is `shared.engine.handoff`."""

from __future__ import annotations

from shared.data import conversations, messages
from shared.domain.models import Conversation, ConversationSource, ConversationStatus, Message
from shared.domain.pages import Page


def list_page(
    *,
    source: ConversationSource | None,
    status: ConversationStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[Conversation]:
    """One page of conversations, most recent activity first, optionally of one source and/or status."""
    return conversations.list_page(source=source, status=status, limit=limit, cursor=cursor)


def thread(conversation_id: str) -> tuple[Conversation, list[Message]]:
    """The conversation and its whole thread, oldest first (WhatsApp messages or the call
    transcript); `NotFound` if there is no such conversation."""
    conversation = conversations.get(conversation_id)
    return conversation, messages.list_for(conversation_id)
