"""Side effects on a conversation shared by the tools and the inbound turn: opting out, and dropping
a confirmation (confirming identity is `shared.engine.identity`'s)."""

from __future__ import annotations

from shared.core.observability import logger
from shared.data import conversations
from shared.data import targets as targets_data
from shared.domain.errors import Conflict
from shared.domain.models import OPEN_TARGET_STATES, Conversation, Outcome, Target, TargetState
from shared.engine import identity, optouts


def opt_out_conversation(
    conversation: Conversation,
    target: Target | None,
    *,
    confirmed: bool,
    source: str,
    reason: str | None = None,
) -> None:
    """Opt the conversation's phone out for good (what the law keys). The document too, and the case
    ends `completed/opted_out`, only when the person's identity is `confirmed` (the phone on file and
    the document given); the case also ends when its number is this phone (it would never be
    contacted again there). A stranger's "PARAR" never touches anyone else's account."""
    document = (conversation.document or (target.document if target else None)) if confirmed else None
    optouts.opt_out(phone=conversation.phone, document=document, reason=reason, source=source)
    if target is not None and (confirmed or identity.on_the_case_number(conversation, target)):
        try:
            targets_data.transition(
                target.id,
                OPEN_TARGET_STATES,
                TargetState.COMPLETED,
                outcome=Outcome.OPTED_OUT,
                outcome_details="cliente pediu para não receber mais mensagens",
            )
        except Conflict as exc:
            logger.info("opted-out target left as it is", target_id=target.id, reason=exc.message)
    logger.info("customer opted out", conversation_id=conversation.id, source=source, document=bool(document))


def forget_identity(conversation: Conversation) -> Conversation:
    """The person in the conversation is not the customer: any confirmation is dropped."""
    return conversations.update(conversation.id, identity_confirmed=False, identity_confirmed_at=None)
