"""`/api/voice/conversations`: the collection conversations, their threads, and human handoff."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from functions.api.auth import Role
from functions.api.deps import AuthenticateFirst, Supervisor, Viewer
from functions.api.pagination import paged
from functions.api.schemas import ConversationDetail, ConversationPublic, DisclosurePublic, MessagePublic
from shared.domain.models import ConversationSource, ConversationStatus
from shared.engine import handoff, inbox

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
    return paged(response, page, ConversationPublic.of)


@router.get("/{conversation_id}", response_model=ConversationDetail)
def get_conversation(conversation_id: str, principal: Viewer) -> ConversationDetail:
    """The conversation with its whole thread (WhatsApp messages or the call transcript), and for
    supervisors the log of every disclosure of a customer's data in it."""
    conversation, messages = inbox.thread(conversation_id)
    thread = [MessagePublic.model_validate(m, from_attributes=True) for m in messages]
    disclosures = (
        [DisclosurePublic.of(entry) for entry in conversation.disclosures]
        if principal.role >= Role.SUPERVISOR
        else None
    )
    return ConversationDetail(
        **ConversationPublic.of(conversation).model_dump(), messages=thread, disclosures=disclosures
    )


@router.post("/{conversation_id}/transfer", response_model=ConversationPublic)
def transfer(conversation_id: str, principal: Supervisor) -> ConversationPublic:
    """Hand the conversation to a human: the assistant stays silent in it from now on."""
    return ConversationPublic.of(handoff.transfer(conversation_id, by=principal.subject))


@router.post("/{conversation_id}/release", response_model=ConversationPublic)
def release(conversation_id: str, principal: Supervisor) -> ConversationPublic:
    """Give the conversation back to the assistant."""
    return ConversationPublic.of(handoff.release(conversation_id, by=principal.subject))
