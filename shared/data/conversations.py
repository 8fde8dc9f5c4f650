"""Conversations table: hash `id`, plus the hold items of the desk.

A chat id (`whatsapp_<E.164>`, `voice_<CallSid>`) has at most one conversation, whose id is derived
from it (`shared.domain.ids.conversation_id`): `create` is one PutItem with `attribute_not_exists`, so
two webhooks racing to open the same chat cannot both succeed, and `by_chat_id` is one GetItem (no
GSI; strongly consistent by default, so a message arriving right after the first one always finds the
conversation). `update_if` conditions a change on what its caller read, which lets a caller
act on an eventually consistent read and find out, by the write itself, when it was stale.

GSIs, newest activity first, projecting keys only (claim items carry none of their keys, so they never
appear): `by_activity` (constant `kind`, last_activity_at) lists every conversation, and a source or
the AI status is a filter on the conversations a page fetched; `by_handling` (sparse:
`handling` = the status, written only while it is not `ai`, last_activity_at) lists the ones a human
took or that were resolved. A conversation is written at every message: an index projecting its
attributes would be rewritten with it, and each index keyed on the activity moves at every bump, so
one activity index serves the listings and only the conversations that left the assistant are in a
second. About 10k conversations a month and one activity bump per message keep the constant
partition far below DynamoDB's per-partition limits.

The human desk: `by_queue` is sparse (constant `queue`, waiting_since), holding only the conversations
whose customer waits for a human's answer, oldest first; `queue` is written with `waiting_since` and
removed with it. While a human has a conversation, the items `hold#phone#<E.164>` and
`hold#document#<doc>` list it (a string set, so two held conversations of one customer each keep the
hold until both end); the pre-send guards read them with one BatchGetItem. `update_handling` changes a
conversation's handling and its hold items in one transaction, conditioned on what the caller read.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from functools import partial
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.transactions import TransactWrite

from shared.core import clock
from shared.data.attributes import IsoDateTimeAttribute, ModelListAttribute
from shared.data.base import (
    TableModel,
    failed_transaction_items,
    is_condition_failure,
    record_kwargs,
    set_actions,
    to_domain,
    transaction_connection,
    validate_changes,
)
from shared.data.pagination import query_page
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import conversation_id as conversation_id_of
from shared.domain.models import Conversation, ConversationSource, ConversationStatus, Disclosure
from shared.domain.pages import Page

_KIND = "conversation"
_HOLD_PREFIX = "hold#"
_QUEUED = "waiting"
_IMMUTABLE = ("id", "chat_id", "created_at", "updated_at")


class _ByHandling(GlobalSecondaryIndex["ConversationRecord"]):
    class Meta:
        index_name = "by_handling"
        projection = KeysOnlyProjection()

    handling = UnicodeAttribute(hash_key=True)
    last_activity_at = IsoDateTimeAttribute(range_key=True)


class _ByActivity(GlobalSecondaryIndex["ConversationRecord"]):
    class Meta:
        index_name = "by_activity"
        projection = KeysOnlyProjection()

    kind = UnicodeAttribute(hash_key=True)
    last_activity_at = IsoDateTimeAttribute(range_key=True)


class _ByQueue(GlobalSecondaryIndex["ConversationRecord"]):
    class Meta:
        index_name = "by_queue"
        projection = AllProjection()

    queue = UnicodeAttribute(hash_key=True)
    waiting_since = IsoDateTimeAttribute(range_key=True)


class ConversationRecord(TableModel):
    class Meta:
        suffix = "conversations"

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default=_KIND)
    chat_id = UnicodeAttribute()
    phone = UnicodeAttribute()
    source = UnicodeAttribute()
    status = UnicodeAttribute()
    handling = UnicodeAttribute(null=True)  # the status while it is not `ai` (sparse index key)
    assigned_assistant = UnicodeAttribute(null=True)
    client_name = UnicodeAttribute(null=True)
    document = UnicodeAttribute(null=True)
    target_id = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)
    identity_confirmed = BooleanAttribute()
    identity_confirmed_at = IsoDateTimeAttribute(null=True)
    identity_contact = UnicodeAttribute(null=True)
    disclosures = ModelListAttribute(Disclosure)
    call_sid = UnicodeAttribute(null=True)
    last_inbound_at = IsoDateTimeAttribute(null=True)
    assignee = UnicodeAttribute(null=True)
    handoff_reason = UnicodeAttribute(null=True)
    transferred_at = IsoDateTimeAttribute(null=True)
    waiting_since = IsoDateTimeAttribute(null=True)
    queue = UnicodeAttribute(null=True)  # `_QUEUED` exactly when waiting_since is set (sparse index key)
    first_human_reply_at = IsoDateTimeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = IsoDateTimeAttribute(null=True)
    recording_sid = UnicodeAttribute(null=True)
    recording_seconds = NumberAttribute(null=True)
    call_summary = UnicodeAttribute(null=True)
    call_disposition = UnicodeAttribute(null=True)
    last_activity_at = IsoDateTimeAttribute()
    created_at = IsoDateTimeAttribute()
    updated_at = IsoDateTimeAttribute()

    by_handling = _ByHandling()
    by_activity = _ByActivity()
    by_queue = _ByQueue()


class HoldRecord(TableModel):
    """The second item type: a customer's phone or document -> the conversations a human holds."""

    class Meta:
        suffix = "conversations"
        shares_table = True

    id = UnicodeAttribute(hash_key=True)  # "hold#phone#<E.164>" or "hold#document#<doc>"
    conversation_ids = UnicodeSetAttribute(null=True)


def create(conversation: Conversation) -> Conversation:
    """Store a new conversation (one conditional PutItem); `Conflict` (code `chat_taken`) if its chat
    id already has one. Its id must be `shared.domain.ids.conversation_id(chat_id)`."""
    expected = conversation_id_of(conversation.chat_id)
    if conversation.id != expected:
        raise ValueError(
            f"conversation id {conversation.id!r} is not shared.domain.ids.conversation_id(...) = {expected!r}"
        )
    record = ConversationRecord(**_with_index_keys(record_kwargs(conversation)))
    try:
        record.save(condition=ConversationRecord.id.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(
                f"chat {conversation.chat_id} already has a conversation", code="chat_taken"
            ) from exc
        raise
    return conversation


def get(conversation_id: str, *, consistent: bool = True) -> Conversation:
    """The conversation (a strongly consistent read unless `consistent` is False); `NotFound` if there
    is none."""
    if conversation_id.startswith(_HOLD_PREFIX):
        raise NotFound(f"conversation {conversation_id} not found")
    try:
        return _to_conversation(ConversationRecord.get(conversation_id, consistent_read=consistent))
    except ConversationRecord.DoesNotExist:
        raise NotFound(f"conversation {conversation_id} not found") from None


def by_chat_id(chat_id: str, *, consistent: bool = True) -> Conversation | None:
    """The conversation of a chat id, if any (one GetItem, strongly consistent unless `consistent` is
    False)."""
    try:
        return get(conversation_id_of(chat_id), consistent=consistent)
    except NotFound:
        return None


def update(conversation_id: str, **changes: Any) -> Conversation:
    """Change fields (status, identity_confirmed, last_activity_at...); `NotFound` if missing."""
    return _update(conversation_id, {}, changes)


def update_if(
    conversation_id: str, expect: Mapping[str, str | Enum | None], /, **changes: Any
) -> Conversation:
    """`update`, only while the stored conversation still has `expect`'s values (None: the attribute
    is absent): `Conflict` (code `conversation_changed`) otherwise, `NotFound` if it is gone."""
    return _update(conversation_id, expect, changes)


def _update(
    conversation_id: str, expect: Mapping[str, str | Enum | None], changes: Mapping[str, Any]
) -> Conversation:
    values = validate_changes(Conversation, changes, forbidden=_IMMUTABLE)
    if not values:
        return get(conversation_id)
    values["updated_at"] = clock.now()
    record = ConversationRecord(conversation_id)
    try:
        record.update(
            actions=set_actions(ConversationRecord, _with_index_keys(values)), condition=_expected(expect)
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        if expect:
            get(conversation_id)  # NotFound if it is gone
            raise Conflict(
                f"conversation {conversation_id} changed meanwhile", code="conversation_changed"
            ) from exc
        raise NotFound(f"conversation {conversation_id} not found") from exc
    return _to_conversation(record)


def update_handling(
    conversation: Conversation, *, expect: Mapping[str, str | Enum | None], hold: bool, **changes: Any
) -> Conversation:
    """Change who handles a conversation (status, assignee, waiting...) in one transaction: written only
    while the stored conversation still has `expect`'s values (None: the attribute is absent), and the
    customer's hold items (its phone and document) gain (`hold`) or lose the conversation.

    `Conflict` (code `conversation_changed`) when `expect` no longer holds; `NotFound` if it is gone.
    """
    values = validate_changes(Conversation, changes, forbidden=_IMMUTABLE)
    values["updated_at"] = clock.now()
    ids = {conversation.id}
    try:
        with TransactWrite(connection=transaction_connection()) as transaction:
            transaction.update(
                ConversationRecord(conversation.id),
                actions=set_actions(ConversationRecord, _with_index_keys(values)),
                condition=_expected(expect),
            )
            for key in hold_keys(conversation.phone, conversation.document):
                change = (
                    HoldRecord.conversation_ids.add(ids) if hold else HoldRecord.conversation_ids.delete(ids)
                )
                transaction.update(HoldRecord(key), actions=[change])
    except TransactWriteError as exc:
        if 0 in failed_transaction_items(exc):
            get(conversation.id)  # NotFound if it is gone
            raise Conflict(
                f"conversation {conversation.id} changed meanwhile", code="conversation_changed"
            ) from exc
        raise
    return get(conversation.id)


def _expected(expect: Mapping[str, str | Enum | None]) -> Any:
    """The condition that the conversation exists with `expect`'s values (None: the attribute is
    absent)."""
    condition: Any = ConversationRecord.chat_id.exists()
    attributes = ConversationRecord.get_attributes()
    for name, expected in expect.items():
        attribute: Any = attributes[name]
        if expected is None:
            condition &= attribute.does_not_exist()
        else:
            condition &= attribute == (expected.value if isinstance(expected, Enum) else expected)
    return condition


def hold_keys(phone: str, document: str | None) -> list[str]:
    """The hold items of a customer: its phone and, when known, its document."""
    keys = [f"{_HOLD_PREFIX}phone#{phone}"]
    if document:
        keys.append(f"{_HOLD_PREFIX}document#{document}")
    return keys


def held(phone: str, document: str | None, *, consistent: bool = True) -> bool:
    """Whether a human holds a conversation of this phone or document (strongly consistent unless
    `consistent=False`: half the units, possibly a moment stale)."""
    keys = hold_keys(phone, document)
    return any(record.conversation_ids for record in HoldRecord.batch_get(keys, consistent_read=consistent))


def holding(phone: str, document: str | None) -> list[Conversation]:
    """The conversations a human holds for this phone or document (strongly consistent), in id order."""
    keys = hold_keys(phone, document)
    ids = sorted({i for record in HoldRecord.batch_get(keys) for i in record.conversation_ids or ()})
    found = {record.id: record for record in ConversationRecord.batch_get(ids)} if ids else {}
    return [_to_conversation(found[i]) for i in ids if i in found]


def queue_page(limit: int = 50, cursor: str | None = None) -> Page[Conversation]:
    """The conversations whose customer waits for a human's answer, longest wait first."""
    return query_page(
        ConversationRecord.by_queue.query,
        _QUEUED,
        query_tag="conversations:queue",
        limit=limit,
        cursor=cursor,
        convert=_to_conversation,
        scan_index_forward=True,
    )


def held_page(limit: int = 50, cursor: str | None = None) -> Page[Conversation]:
    """The conversations a human has (`transferred`), the longest untouched first (`by_handling`)."""
    return query_page(
        ConversationRecord.by_handling.query,
        ConversationStatus.TRANSFERRED.value,
        query_tag="conversations:held",
        limit=limit,
        cursor=cursor,
        convert=_to_conversation,
        resolve=_fetch,
        scan_index_forward=True,
    )


def held_count() -> int:
    """How many conversations a human has (a COUNT query on the sparse `by_handling`)."""
    return ConversationRecord.by_handling.count(ConversationStatus.TRANSFERRED.value)


def queue_length() -> int:
    """How many conversations wait for a human's answer (a COUNT query on the sparse index)."""
    return ConversationRecord.by_queue.count(_QUEUED)


def list_page(
    source: ConversationSource | None = None,
    status: ConversationStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Conversation]:
    """Conversations, most recent activity first, optionally of one source and/or status.

    A status other than `ai` reads `by_handling`; anything else `by_activity`. The source, and the
    `ai` status, filter the conversations a page fetched: a page may then hold fewer than `limit`
    while `next_cursor` is still set.
    """
    source = ConversationSource(source) if source is not None else None
    status = ConversationStatus(status) if status is not None else None

    def fetch_kept(keys: list[ConversationRecord]) -> list[ConversationRecord]:
        return [
            record
            for record in _fetch(keys)
            if (source is None or record.source == source.value)
            and (status is None or record.status == status.value)
        ]

    page = partial(
        query_page,
        query_tag=f"conversations:{source}:{status}",
        limit=limit,
        cursor=cursor,
        convert=_to_conversation,
        resolve=fetch_kept,
        scan_index_forward=False,
    )
    if status is not None and status is not ConversationStatus.AI:
        return page(ConversationRecord.by_handling.query, status.value)
    return page(ConversationRecord.by_activity.query, _KIND)


def _fetch(keys: list[ConversationRecord]) -> list[ConversationRecord]:
    """The whole conversations an index page named, in its order (eventually consistent, like the
    index); one deleted meanwhile is left out."""
    ids = list(dict.fromkeys(record.id for record in keys))
    found = {record.id: record for record in ConversationRecord.batch_get(ids)} if ids else {}
    return [found[conversation_id] for conversation_id in ids if conversation_id in found]


def _with_index_keys(values: dict[str, Any]) -> dict[str, Any]:
    """`queue` follows `waiting_since`, so a conversation is in `by_queue` exactly while it waits;
    `handling` follows the status, so it is in `by_handling` exactly while the status is not `ai`."""
    if "waiting_since" in values:
        values["queue"] = _QUEUED if values["waiting_since"] is not None else None
    if "status" in values:
        status = ConversationStatus(values["status"])
        values["handling"] = None if status is ConversationStatus.AI else status.value
    return values


def _to_conversation(record: ConversationRecord) -> Conversation:
    return to_domain(Conversation, record)
