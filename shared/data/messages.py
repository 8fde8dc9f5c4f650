"""Messages table: hash `conversation_id`, range `sort_key` = f"{created_at}#{id}" (chronological;
ids from `shared.domain.ids.new_id` keep same-instant messages in the order they were made).

GSI `by_receipt_id` (sparse, keys only) serves delivery receipts: only a message we sent carries
`receipt_id` (its Evolution/Twilio id), so a customer's message, which no receipt ever names, costs
the index nothing. It names the message's keys, which is all a receipt's conditional UpdateItem
needs, and a receipt changing the status leaves the index alone (an index projecting the status
would take a write at every receipt). A receipt is that query and that write, nothing else: the
write's answer carries the message as it was, whether the receipt changed it or the condition refused
it (`set_delivery_status`). A customer's message keeps its WhatsApp id in `external_id` (the inbound
worker recognises a redelivered job by it in the thread's newest messages).

A deployed table moves in two updates (CloudFormation changes one GSI per update): add
`by_receipt_id`, then drop `by_external_id`. Messages stored before carry no `receipt_id`; receipts
come within minutes of a send, so only those in flight at the switch go unmatched.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from botocore.exceptions import ClientError
from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.constants import ALL_OLD
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection

from shared.core import clock
from shared.data.attributes import IsoDateTimeAttribute, iso_utc
from shared.data.base import TableModel, is_condition_failure, record_kwargs, set_actions, to_domain
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.models import REACHED_PHONE, Channel, DeliveryStatus, Message, Sender

# Receipts arrive out of order (READ before DELIVERY_ACK is common): a status only ever moves forward.
_RANK = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SERVER_ACK: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 2,  # a failure can follow a send/server ack, never a delivery or read
}


class _ByReceiptId(GlobalSecondaryIndex["MessageRecord"]):
    class Meta:
        index_name = "by_receipt_id"
        projection = KeysOnlyProjection()

    receipt_id = UnicodeAttribute(hash_key=True)


class MessageRecord(TableModel):
    class Meta:
        suffix = "messages"

    conversation_id = UnicodeAttribute(hash_key=True)
    sort_key = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    sender = UnicodeAttribute()
    content = UnicodeAttribute()
    created_at = IsoDateTimeAttribute()
    channel = UnicodeAttribute()
    external_id = UnicodeAttribute(null=True)
    delivery_status = UnicodeAttribute(null=True)
    is_from_campaign = BooleanAttribute()
    author = UnicodeAttribute(null=True)
    receipt_id = UnicodeAttribute(null=True)  # external_id of a message we sent (sparse index key)
    reached_at = IsoDateTimeAttribute(null=True)

    by_receipt_id = _ByReceiptId()


def append(message: Message) -> Message:
    """Store a message at the end of its conversation; `Conflict` if that exact message exists."""
    record = MessageRecord(**record_kwargs(message), sort_key=_sort_key(message))
    if message.sender is not Sender.CUSTOMER:
        record.receipt_id = message.external_id
    try:
        record.save(condition=MessageRecord.sort_key.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"message {message.id} already stored") from exc
        raise
    return message


def record(
    conversation_id: str,
    sender: Sender,
    content: str,
    *,
    channel: Channel = Channel.WHATSAPP,
    external_id: str | None = None,
    delivery_status: DeliveryStatus | None = None,
    is_from_campaign: bool = False,
    author: str | None = None,
) -> Message:
    """Append a new message, with a fresh id, stamped now (see `append`)."""
    return append(
        Message(
            id=new_id(),
            conversation_id=conversation_id,
            sender=sender,
            content=content,
            created_at=clock.now(),
            channel=channel,
            external_id=external_id,
            delivery_status=delivery_status,
            is_from_campaign=is_from_campaign,
            author=author,
        )
    )


def find(conversation_id: str, message_id: str) -> Message:
    """One message of a conversation by its id (the thread is read, strongly consistent; threads are
    short); `NotFound`."""
    for record in MessageRecord.query(conversation_id, consistent_read=True):
        if record.id == message_id:
            return _to_message(record)
    raise NotFound(f"message {message_id} not found in conversation {conversation_id}")


def update_delivery(
    message: Message,
    status: DeliveryStatus,
    *,
    external_id: str | None = None,
    expect: DeliveryStatus | None = None,
) -> Message:
    """Set a message's delivery status (and the channel's id once sent). With `expect`, only while the
    stored status is still `expect` (`Conflict` otherwise: someone else changed it first)."""
    values: dict[str, Any] = {"delivery_status": DeliveryStatus(status)}
    if external_id is not None:
        values["external_id"] = values["receipt_id"] = external_id
    condition: Any = MessageRecord.sort_key.exists()
    if expect is not None:
        condition = condition & (MessageRecord.delivery_status == DeliveryStatus(expect).value)
    record = MessageRecord(message.conversation_id, _sort_key(message))
    try:
        record.update(actions=set_actions(MessageRecord, values), condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"message {message.id} is no longer {expect}", code="message_changed") from exc
        raise
    return _to_message(record)


def list_for(conversation_id: str, limit: int | None = None, newest_first: bool = False) -> list[Message]:
    """A conversation's messages in chronological order (or newest first), at most `limit` of them.

    For "the last 20, in order" ask `newest_first=True, limit=20` and reverse.
    """
    results = MessageRecord.query(
        conversation_id, scan_index_forward=not newest_first, limit=limit, page_size=limit
    )
    return [_to_message(record) for record in results]


def customer_message_before(
    conversation_id: str, external_id: str, before: Message, since: datetime
) -> Message | None:
    """The customer's message with WhatsApp id `external_id` stored in the conversation from `since`
    up to `before`. Reads that range, filtered."""
    for record in MessageRecord.query(
        conversation_id,
        MessageRecord.sort_key.between(iso_utc(since), _sort_key(before)),
        filter_condition=(MessageRecord.external_id == external_id)
        & (MessageRecord.sender == Sender.CUSTOMER.value),
    ):
        return _to_message(record)
    return None


def _located(external_id: str) -> MessageRecord | None:
    """The keys of the message we sent with an Evolution/Twilio id (`by_receipt_id`), if any."""
    for record in MessageRecord.by_receipt_id.query(external_id, limit=1):
        return record
    return None


def last_from_campaign(conversation_id: str) -> Message | None:
    """The conversation's newest campaign message, if any (read newest first, strongly consistent)."""
    for record in MessageRecord.query(conversation_id, scan_index_forward=False, consistent_read=True):
        if record.is_from_campaign:
            return _to_message(record)
    return None


class Receipt(NamedTuple):
    """A delivery receipt recorded on a message we sent: the message as stored afterwards, and its
    status before the receipt (the same when the receipt changed nothing)."""

    message: Message
    before: DeliveryStatus | None


def set_delivery_status(external_id: str, status: DeliveryStatus) -> Receipt | None:
    """Record a delivery receipt on the message we sent with that id; a status only moves forward (an
    older or repeated receipt changes nothing). None when no message has that id. The first receipt
    from the phone (delivered or read) also stamps `reached_at`, which upkeep reads at the attempt's
    deadline (the receipt itself never moves the case).

    One `by_receipt_id` query and one conditional UpdateItem: the write answers with the message as
    it was, whether it changed it (`ReturnValues`) or its condition refused the receipt
    (`ReturnValuesOnConditionCheckFailure`), neither billed as a read."""
    key = _located(external_id)
    if key is None:
        return None
    status = DeliveryStatus(status)
    earlier = [s.value for s, rank in _RANK.items() if rank < _RANK[status]]
    not_later: Any = MessageRecord.delivery_status.does_not_exist()
    if earlier:
        not_later = not_later | MessageRecord.delivery_status.is_in(*earlier)
    now = clock.now()
    actions = set_actions(MessageRecord, {"delivery_status": status})
    if status in REACHED_PHONE:
        actions.append(MessageRecord.reached_at.set(MessageRecord.reached_at | now))
    table = MessageRecord._get_connection()
    request = table.connection.get_operation_kwargs(
        table.table_name,
        key.conversation_id,
        key.sort_key,
        actions=actions,
        # exists(): an UpdateItem on a missing key would create a stub item
        condition=MessageRecord.sort_key.exists() & not_later,
        return_values=ALL_OLD,
        return_values_on_condition_failure=ALL_OLD,
    )
    try:
        # botocore itself: PynamoDB's update_item neither asks for nor keeps a refused write's item
        answer = table.connection.client._make_api_call("UpdateItem", request)
    except ClientError as exc:
        refused = cast(dict[str, Any], exc.response)
        if refused.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        if "Item" not in refused:
            return None  # deleted since the index named it
        stored = _to_message(MessageRecord.from_raw_data(refused["Item"]))
        return Receipt(stored, stored.delivery_status)
    before = _to_message(MessageRecord.from_raw_data(answer["Attributes"]))
    after: dict[str, Any] = {"delivery_status": status}
    if status in REACHED_PHONE and before.reached_at is None:
        after["reached_at"] = now
    return Receipt(before.model_copy(update=after), before.delivery_status)


def _sort_key(message: Message) -> str:
    return f"{iso_utc(message.created_at)}#{message.id}"


def _to_message(record: MessageRecord) -> Message:
    return to_domain(Message, record)
