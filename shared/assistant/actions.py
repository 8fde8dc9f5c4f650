"""Side effects on a conversation shared by the tools and the inbound turn: opting out, confirming
identity, and linking an inbound conversation to the customer's target."""

from __future__ import annotations

from shared.core.observability import logger
from shared.data import conversations
from shared.data import targets as targets_data
from shared.domain.errors import Conflict
from shared.domain.models import OPEN_TARGET_STATES, Conversation, Outcome, Target, TargetState
from shared.engine import optouts


def opt_out_conversation(
    conversation: Conversation, target: Target | None, *, source: str, reason: str | None = None
) -> None:
    """Opt the conversation's phone and document out for good; its target ends `completed/opted_out`."""
    document = conversation.document or (target.document if target else None)
    optouts.opt_out(phone=conversation.phone, document=document, reason=reason, source=source)
    if target is not None:
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
    logger.info("customer opted out", conversation_id=conversation.id, source=source)


def confirm_identity(conversation: Conversation) -> Conversation:
    """Record that the person in the conversation typed the target's document."""
    if conversation.identity_confirmed:
        return conversation
    return conversations.update(conversation.id, identity_confirmed=True)


def adopt_document(conversation: Conversation, document: str) -> tuple[Conversation, Target | None]:
    """An inbound conversation without a target takes the document its customer typed: the
    conversation gets it, and the customer's target (an open one first, the newest) if there is one."""
    candidates = targets_data.by_document(document)
    open_ones = [t for t in candidates if t.state in OPEN_TARGET_STATES]
    pool = open_ones or candidates
    target = pool[-1] if pool else None
    changes: dict[str, object] = {"document": document, "identity_confirmed": True}
    if target is not None:
        changes |= {"target_id": target.id, "campaign_id": target.campaign_id}
        if not conversation.client_name:
            changes["client_name"] = target.client_name
    updated = conversations.update(conversation.id, **changes)
    logger.info("inbound conversation linked", conversation_id=conversation.id, target_id=updated.target_id)
    return updated, target
