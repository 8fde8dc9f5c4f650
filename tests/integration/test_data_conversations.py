"""Conversations (unique per chat id, listings by activity) and their messages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.data import conversations, messages
from shared.domain.errors import Conflict, NotFound
from shared.domain.models import ConversationSource, ConversationStatus, DeliveryStatus, Sender

pytestmark = pytest.mark.usefixtures("tables")


def test_conversation_round_trip_and_lookup_by_chat_id(clock, make_conversation):
    conversation = conversations.create(make_conversation(document="52998224725"))

    assert conversations.get(conversation.id) == conversation
    assert conversations.by_chat_id(conversation.chat_id) == conversation
    assert conversations.by_chat_id("whatsapp_5521999990000") is None
    with pytest.raises(NotFound):
        conversations.get("missing")
    with pytest.raises(NotFound):
        conversations.get("hold#phone#" + conversation.phone)  # a hold item is no conversation


def test_a_chat_id_has_one_conversation(clock, make_conversation):
    first = conversations.create(make_conversation())

    with pytest.raises(Conflict) as raised:
        conversations.create(make_conversation(chat_id=first.chat_id, client_name="Outra"))

    assert raised.value.code == "chat_taken"
    assert conversations.by_chat_id(first.chat_id) == first  # the loser overwrote nothing
    assert len(conversations.list_page().items) == 1
    with pytest.raises(ValueError):  # a chat's conversation has the chat's id
        conversations.create(
            make_conversation(chat_id="whatsapp_5511977776666", id="01ARZ3NDEKTSV4RRFFQ69G5FAV")
        )


def test_update_conversation(clock, make_conversation):
    conversation = conversations.create(make_conversation())
    clock.advance(timedelta(minutes=2))

    updated = conversations.update(
        conversation.id,
        status=ConversationStatus.TRANSFERRED,
        identity_confirmed=True,
        assigned_assistant=None,
    )

    assert updated.status is ConversationStatus.TRANSFERRED and updated.identity_confirmed
    assert updated.assigned_assistant is None and updated.updated_at == clock.now()
    assert conversations.get(conversation.id) == updated
    with pytest.raises(ValueError):
        conversations.update(conversation.id, chat_id="whatsapp_other")
    with pytest.raises(NotFound):
        conversations.update("missing", status=ConversationStatus.RESOLVED)


def test_list_newest_activity_first_by_source_and_status(clock, make_conversation):
    now = clock.now()
    inbound = conversations.create(
        make_conversation(chat_id="whatsapp_1", source=ConversationSource.INBOUND, last_activity_at=now)
    )
    campaign = conversations.create(make_conversation(chat_id="whatsapp_2", last_activity_at=now))
    voice = conversations.create(
        make_conversation(chat_id="voice_CA1", source=ConversationSource.VOICE_CAMPAIGN, last_activity_at=now)
    )
    conversations.update(inbound.id, last_activity_at=now + timedelta(minutes=3))
    conversations.update(
        voice.id, last_activity_at=now + timedelta(minutes=1), status=ConversationStatus.RESOLVED
    )

    everything = conversations.list_page()
    by_source = conversations.list_page(source=ConversationSource.INBOUND)
    resolved = conversations.list_page(status=ConversationStatus.RESOLVED)
    ai_campaign = conversations.list_page(
        source=ConversationSource.WHATSAPP_CAMPAIGN, status=ConversationStatus.AI
    )

    assert [c.id for c in everything.items] == [inbound.id, voice.id, campaign.id]
    assert [c.id for c in by_source.items] == [inbound.id]
    assert [c.id for c in resolved.items] == [voice.id]
    assert [c.id for c in ai_campaign.items] == [campaign.id]


def test_list_pages_round_trip(clock, make_conversation):
    for n in range(5):
        conversations.create(make_conversation(chat_id=f"whatsapp_{n}"))
        clock.advance(timedelta(seconds=1))

    ids, cursor = [], None
    for _ in range(5):
        page = conversations.list_page(limit=2, cursor=cursor)
        ids += [c.id for c in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert len(ids) == 5 and len(set(ids)) == 5


def test_messages_come_back_in_order_even_at_the_same_instant(clock, make_message):
    first = messages.append(make_message(content="1"))
    second = messages.append(make_message(content="2"))  # same virtual instant
    clock.advance(timedelta(seconds=1))
    third = messages.append(make_message(content="3", sender=Sender.ASSISTANT))
    messages.append(make_message(conversation_id="OTHER"))

    assert messages.list_for("CONV1") == [first, second, third]
    assert messages.list_for("CONV1", limit=2, newest_first=True) == [third, second]
    assert messages.list_for("NONE") == []
    with pytest.raises(Conflict):
        messages.append(first)


def test_delivery_status_only_moves_forward(clock, make_message):
    message = messages.append(
        make_message(sender=Sender.ASSISTANT, external_id="EVO1", delivery_status=DeliveryStatus.PENDING)
    )

    read = messages.set_delivery_status("EVO1", DeliveryStatus.READ)
    late_ack = messages.set_delivery_status("EVO1", DeliveryStatus.DELIVERED)

    assert read == (
        message.model_copy(update={"delivery_status": DeliveryStatus.READ, "reached_at": clock.now()}),
        DeliveryStatus.PENDING,
    )
    assert late_ack == (read.message, DeliveryStatus.READ)  # refused: the message as stored, unchanged
    assert messages.list_for(message.conversation_id) == [read.message]
    assert messages.set_delivery_status("UNKNOWN", DeliveryStatus.READ) is None


def test_a_receipt_is_one_index_query_and_one_write_even_when_refused(clock, make_message, dynamodb_requests):
    message = messages.append(
        make_message(sender=Sender.ASSISTANT, external_id="EVO2", delivery_status=DeliveryStatus.PENDING)
    )
    one_receipt = [("Query", "messages.by_receipt_id"), ("UpdateItem", "messages")]

    dynamodb_requests.clear()
    delivered = messages.set_delivery_status("EVO2", DeliveryStatus.DELIVERED)
    assert dynamodb_requests == one_receipt
    assert delivered == (
        message.model_copy(update={"delivery_status": DeliveryStatus.DELIVERED, "reached_at": clock.now()}),
        DeliveryStatus.PENDING,
    )

    clock.advance(timedelta(minutes=1))
    dynamodb_requests.clear()
    again = messages.set_delivery_status("EVO2", DeliveryStatus.DELIVERED)  # Evolution retried the webhook
    assert dynamodb_requests == one_receipt  # the refused write answers with the message: no read
    assert again == (delivered.message, DeliveryStatus.DELIVERED)


def test_receipts_find_only_the_messages_we_sent(clock, make_message):
    customers = messages.append(make_message(sender=Sender.CUSTOMER, external_id="EVO-IN"))
    ours = messages.append(make_message(sender=Sender.ASSISTANT, content="Olá"))
    messages.update_delivery(ours, DeliveryStatus.SERVER_ACK, external_id="EVO-OUT")

    assert messages.set_delivery_status("EVO-IN", DeliveryStatus.READ) is None  # not in the index
    assert messages.set_delivery_status("EVO-OUT", DeliveryStatus.READ) == (
        ours.model_copy(
            update={
                "external_id": "EVO-OUT",
                "delivery_status": DeliveryStatus.READ,
                "reached_at": clock.now(),
            }
        ),
        DeliveryStatus.SERVER_ACK,
    )
    assert messages.list_for(customers.conversation_id)[0] == customers


def test_a_customer_stays_held_until_every_conversation_a_human_has_lets_go(clock, make_conversation):
    document = "52998224725"
    whatsapp = conversations.create(
        make_conversation(chat_id="whatsapp_5511988887777", phone="5511988887777", document=document)
    )
    call = conversations.create(
        make_conversation(chat_id="voice_CA01", phone="5511977776666", document=document)
    )
    held = {"status": ConversationStatus.TRANSFERRED}

    conversations.update_handling(whatsapp, expect={"status": ConversationStatus.AI}, hold=True, **held)
    conversations.update_handling(call, expect={"status": ConversationStatus.AI}, hold=True, **held)
    assert conversations.held("5511000000000", document)  # by the document alone
    assert conversations.held("5511988887777", None)  # by the phone alone

    conversations.update_handling(whatsapp, expect=held, hold=False, status=ConversationStatus.RESOLVED)
    assert conversations.held("5511000000000", document)  # the call is still a human's
    assert not conversations.held("5511988887777", None)

    conversations.update_handling(call, expect=held, hold=False, status=ConversationStatus.AI)
    assert not conversations.held("5511977776666", document)
    with pytest.raises(Conflict) as raised:  # what the caller read no longer holds: nothing written
        conversations.update_handling(whatsapp, expect=held, hold=True, status=ConversationStatus.AI)
    assert raised.value.code == "conversation_changed"
    assert not conversations.held("5511988887777", document)
    with pytest.raises(NotFound):
        conversations.get("hold#document#" + document)


def test_the_queue_lists_only_waiting_conversations_longest_wait_first(clock, make_conversation):
    first, second, idle = (
        conversations.create(make_conversation(chat_id=f"whatsapp_55119000000{n}", phone=f"55119000000{n}"))
        for n in range(3)
    )
    now = clock.now()
    conversations.update(second.id, waiting_since=now - timedelta(minutes=5))
    conversations.update(first.id, waiting_since=now - timedelta(minutes=1))

    assert [c.id for c in conversations.queue_page().items] == [second.id, first.id]
    assert conversations.queue_length() == 2

    conversations.update(second.id, waiting_since=None)
    assert [c.id for c in conversations.queue_page().items] == [first.id]
    assert conversations.queue_length() == 1
    assert idle.waiting_since is None


def test_a_conversation_back_with_the_assistant_leaves_the_handling_listing(clock, make_conversation):
    conversation = conversations.create(make_conversation(chat_id="whatsapp_9"))
    conversations.update(conversation.id, status=ConversationStatus.TRANSFERRED)
    assert [c.id for c in conversations.list_page(status=ConversationStatus.TRANSFERRED).items] == [
        conversation.id
    ]

    conversations.update(conversation.id, status=ConversationStatus.AI, last_activity_at=clock.now())

    assert conversations.list_page(status=ConversationStatus.TRANSFERRED).items == []
    assert [c.id for c in conversations.list_page(status=ConversationStatus.AI).items] == [conversation.id]


def test_a_filtered_listing_fills_its_page_from_further_down_the_index_and_its_cursor_skips_nothing(
    clock, make_conversation
):
    now = clock.now()
    for i in range(30):  # one voice conversation in three, newest first
        source = ConversationSource.VOICE_CAMPAIGN if i % 3 == 0 else ConversationSource.INBOUND
        conversations.create(
            make_conversation(
                chat_id=f"voice_CA{i:04d}" if i % 3 == 0 else f"whatsapp_551199990{i:04d}",
                source=source,
                last_activity_at=now - timedelta(minutes=i),
            )
        )

    first = conversations.list_page(source=ConversationSource.VOICE_CAMPAIGN, limit=4)
    rest = conversations.list_page(
        source=ConversationSource.VOICE_CAMPAIGN, limit=4, cursor=first.next_cursor
    )
    last = conversations.list_page(source=ConversationSource.VOICE_CAMPAIGN, limit=4, cursor=rest.next_cursor)

    assert [c.chat_id for c in first.items] == [f"voice_CA{i:04d}" for i in (0, 3, 6, 9)]
    assert [c.chat_id for c in rest.items] == [f"voice_CA{i:04d}" for i in (12, 15, 18, 21)]
    assert [c.chat_id for c in last.items] == [f"voice_CA{i:04d}" for i in (24, 27)]


def test_a_stretch_that_overfills_a_filtered_page_ends_it_at_its_last_item_and_the_next_page_resumes_there(
    clock, make_conversation
):
    now = clock.now()
    for i in range(10):  # the two newest are inbound, the rest voice
        voice = i >= 2
        conversations.create(
            make_conversation(
                chat_id=f"voice_CA{i:04d}" if voice else f"whatsapp_551199990{i:04d}",
                source=ConversationSource.VOICE_CAMPAIGN if voice else ConversationSource.INBOUND,
                last_activity_at=now - timedelta(minutes=i),
            )
        )

    first = conversations.list_page(source=ConversationSource.VOICE_CAMPAIGN, limit=4)
    second = conversations.list_page(
        source=ConversationSource.VOICE_CAMPAIGN, limit=4, cursor=first.next_cursor
    )

    assert [c.chat_id for c in first.items] == [f"voice_CA{i:04d}" for i in (2, 3, 4, 5)]
    assert [c.chat_id for c in second.items] == [f"voice_CA{i:04d}" for i in (6, 7, 8, 9)]
