"""Side effects on a conversation shared by the tools and the inbound turn: opting out, and dropping
a confirmation (confirming identity is `shared.engine.identity`'s)."""

from __future__ import annotations

from shared.core.observability import logger
from shared.data import conversations
from shared.domain.models import Conversation, Target
from shared.engine import optouts


def opt_out_conversation(
    conversation: Conversation,
    target: Target | None,
    *,
    confirmed: bool,
    source: str,
    reason: str | None = None,
) -> None:
    """Opt the conversation's phone out for good (what the law keys), which ends every open case
    contacted on it; the document too, and with it all the customer's open cases, only when the
    person's identity is `confirmed` (the phone on file and the document given). A stranger's "PARAR"
    never touches anyone else's account."""
    document = (conversation.document or (target.document if target else None)) if confirmed else None
    optouts.opt_out(phone=conversation.phone, document=document, reason=reason, source=source)
    logger.info("customer opted out", conversation_id=conversation.id, source=source, document=bool(document))


def forget_identity(conversation: Conversation) -> Conversation:
    """The person in the conversation is not the customer: any confirmation is dropped."""
    return conversations.update(conversation.id, identity_confirmed=False, identity_confirmed_at=None)
