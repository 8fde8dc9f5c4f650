"""Opening a conversation: the one place a chat's conversation is found or created, for the three
ways one starts — the campaign's first WhatsApp message (`shared.engine.outreach`), a customer writing
first (`shared.engine.inbound`) and an answered call (the voice bridge).

A WhatsApp chat is `whatsapp_<E.164>` of the canonical number (`normalize_phone` restores a mobile's
ninth digit, so a JID without it names the same chat); a call's chat is `voice_<CallSid>`. The
conversation's id derives from the chat id, so finding it is one GetItem; two workers racing to
create it both end with the one that won. With a target, the conversation is pointed at it (another
debtor on the same number must confirm their identity again) and the target at the conversation.

What it reads: a customer's own turn reads the conversation strongly consistent (whether a human
holds it decides if the assistant answers). Pointing it at a case reads it eventually consistent, and
the writes find a stale read out: the creation is conditional on the id being free (taken: read
again, consistent), and the re-pointing on the document read (changed: read again). A case's own
conversation (a follow-up: the target already names it) is re-pointed without any read, conditioned
on still serving the case's document.
"""

from __future__ import annotations

from typing import Any, Final

from shared.core import clock
from shared.core.observability import logger
from shared.data import conversations
from shared.data import targets as targets_data
from shared.domain.chat_ids import voice_chat_id, whatsapp_chat_id
from shared.domain.errors import Conflict, InvalidInput, NotFound
from shared.domain.ids import conversation_id
from shared.domain.models import Channel, Conversation, ConversationSource, Target
from shared.domain.phones import normalize_phone

ASSISTANT: Final = "cobranca"
_POINT_ATTEMPTS: Final = 3


def open_conversation(
    channel: Channel,
    phone: str,
    *,
    target: Target | None = None,
    client_name: str | None = None,
    call_sid: str | None = None,
    link: bool = True,
) -> Conversation:
    """The conversation of a WhatsApp number or of one call (`call_sid` required), created if new.

    Without a target it is a customer's own (source `inbound`, named by `client_name`, WhatsApp's
    push name); with one, a campaign's, pointed at `target` and the target at it — unless `link` is
    False: the caller then records the conversation on the target with its own write of the case.
    """
    chat_id = _chat_id(channel, phone, call_sid)
    if target is not None and target.conversation_id == conversation_id(chat_id):
        own = _point_own(target.conversation_id, target)
        if own is not None:
            return own
    existing = conversations.by_chat_id(chat_id, consistent=target is None)
    if existing is None:
        existing, created = _create(_new(chat_id, phone, target, client_name, call_sid, channel))
        if created:
            logger.info("conversation opened", conversation_id=existing.id, channel=channel.value)
            if target is not None and link:
                _link(target, existing)
            return existing
    if target is None:
        return existing
    conversation = _point_at(existing, target)
    if link:
        _link(target, conversation)
    return conversation


def find_whatsapp(phone: str) -> Conversation | None:
    """The WhatsApp conversation of `phone` (any form of the number), if there is one."""
    return conversations.by_chat_id(_chat_id(Channel.WHATSAPP, phone, None))


def _chat_id(channel: Channel, phone: str, call_sid: str | None) -> str:
    if channel is Channel.VOICE:
        if not call_sid:
            raise InvalidInput("a call's conversation needs the CallSid")
        return voice_chat_id(call_sid)
    return whatsapp_chat_id(normalize_phone(phone))


def _new(
    chat_id: str,
    phone: str,
    target: Target | None,
    client_name: str | None,
    call_sid: str | None,
    channel: Channel,
) -> Conversation:
    now = clock.now()
    fields: dict[str, Any] = {"client_name": client_name or None}
    source = ConversationSource.INBOUND
    if target is not None:
        source = (
            ConversationSource.VOICE_CAMPAIGN
            if channel is Channel.VOICE
            else ConversationSource.WHATSAPP_CAMPAIGN
        )
        fields = {
            "client_name": target.client_name,
            "document": target.document,
            "target_id": target.id,
            "campaign_id": target.campaign_id,
        }
    return Conversation(
        id=conversation_id(chat_id),
        chat_id=chat_id,
        phone=phone,
        source=source,
        assigned_assistant=ASSISTANT,
        call_sid=call_sid,
        last_activity_at=now,
        created_at=now,
        updated_at=now,
        **fields,
    )


def _create(conversation: Conversation) -> tuple[Conversation, bool]:
    """The stored conversation and whether this call created it (False: another worker won)."""
    try:
        return conversations.create(conversation), True
    except Conflict as exc:
        if exc.code != "chat_taken":
            raise
        existing = conversations.by_chat_id(conversation.chat_id)
        if existing is None:
            raise
        return existing, False


def _point_own(own_id: str, target: Target) -> Conversation | None:
    """The case's own conversation (`own_id`) re-pointed at it without reading it first (None when it
    no longer serves the case's document, or is gone: the caller reads it)."""
    try:
        return conversations.update_if(own_id, {"document": target.document}, **_pointing(target))
    except (Conflict, NotFound):
        return None


def _point_at(conversation: Conversation, target: Target) -> Conversation:
    """A reused conversation now serves `target` (perhaps another campaign, or another debtor); the
    write is conditioned on the document of `conversation` as read (stale: read again, consistent)."""
    for _ in range(_POINT_ATTEMPTS):
        changes = _pointing(target)
        if conversation.document != target.document:
            changes["identity_confirmed"] = False  # another debtor: identity is confirmed again
        try:
            return conversations.update_if(conversation.id, {"document": conversation.document}, **changes)
        except Conflict as exc:
            if exc.code != "conversation_changed":
                raise
            conversation = conversations.get(conversation.id)
    raise Conflict(f"conversation {conversation.id} kept changing while it was pointed at a case")


def _pointing(target: Target) -> dict[str, Any]:
    return {
        "target_id": target.id,
        "campaign_id": target.campaign_id,
        "document": target.document,
        "client_name": target.client_name,
        "assigned_assistant": ASSISTANT,
        "last_activity_at": clock.now(),
    }


def _link(target: Target, conversation: Conversation) -> None:
    if target.conversation_id != conversation.id:
        targets_data.update(target.id, conversation_id=conversation.id)
