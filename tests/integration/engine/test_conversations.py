"""Opening a conversation (`shared.engine.conversations.open_conversation`): the one home of the
campaign's WhatsApp chat, the customer's own chat and a call's conversation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.data import conversations
from shared.data import targets as targets_data
from shared.domain.errors import InvalidInput
from shared.domain.models import Channel, ConversationSource
from shared.engine.conversations import open_conversation

pytestmark = pytest.mark.usefixtures("tables")


def test_a_customer_writing_first_opens_an_inbound_conversation_once(clock):
    opened = open_conversation(Channel.WHATSAPP, "5511999998888", client_name="Maria")

    assert opened.chat_id == "whatsapp_5511999998888" and opened.source is ConversationSource.INBOUND
    assert opened.client_name == "Maria" and opened.target_id is None
    assert open_conversation(Channel.WHATSAPP, "5511999998888", client_name="Outro") == opened


def test_a_number_written_without_the_ninth_digit_finds_the_same_chat(clock):
    opened = open_conversation(Channel.WHATSAPP, "5511999998888", client_name="Maria")

    assert open_conversation(Channel.WHATSAPP, "551199998888") == opened


def test_a_follow_up_repoints_the_cases_own_conversation_without_reading_it(clock, make_target, monkeypatch):
    [target], _ = targets_data.insert_new([make_target()])
    opened = open_conversation(Channel.WHATSAPP, target.phone, target=target)
    conversations.update(opened.id, identity_confirmed=True)
    clock.advance(timedelta(days=3))

    def no_read(*args, **kwargs):
        raise AssertionError("the case's own conversation was read")

    monkeypatch.setattr(conversations, "get", no_read)
    again = open_conversation(Channel.WHATSAPP, target.phone, target=targets_data.get(target.id))

    assert again.id == opened.id and again.identity_confirmed  # the same debtor stays confirmed
    assert again.last_activity_at == clock.now()


def test_a_stale_read_of_a_conversation_another_debtor_took_is_read_again(clock, make_target, monkeypatch):
    [first, second], _ = targets_data.insert_new(
        [make_target(), make_target(document="11144477735", client_name="João Souza")]
    )
    opened = open_conversation(Channel.WHATSAPP, first.phone, target=first)
    stale = opened.model_copy(update={"document": "11144477735"})  # as if read before `first` took it
    conversations.update(opened.id, identity_confirmed=True)
    read = conversations.by_chat_id
    monkeypatch.setattr(
        conversations,
        "by_chat_id",
        lambda chat_id, consistent=True: stale if not consistent else read(chat_id),
    )

    again = open_conversation(Channel.WHATSAPP, second.phone, target=second)

    assert (again.document, again.target_id) == ("11144477735", second.id)
    assert not again.identity_confirmed  # the write found the stale read: another debtor confirms again


def test_the_campaigns_first_message_points_the_conversation_and_the_target_at_each_other(clock, make_target):
    [target], _ = targets_data.insert_new([make_target()])

    opened = open_conversation(Channel.WHATSAPP, target.phone, target=target)

    assert opened.source is ConversationSource.WHATSAPP_CAMPAIGN
    assert (opened.target_id, opened.campaign_id, opened.document) == (
        target.id,
        target.campaign_id,
        target.document,
    )
    assert targets_data.get(target.id).conversation_id == opened.id


def test_another_debtor_on_the_same_number_must_confirm_identity_again(clock, make_target):
    [first, second], _ = targets_data.insert_new(
        [make_target(), make_target(document="11144477735", client_name="João Souza")]
    )
    opened = open_conversation(Channel.WHATSAPP, first.phone, target=first)
    conversations.update(opened.id, identity_confirmed=True)

    again = open_conversation(Channel.WHATSAPP, second.phone, target=second)

    assert again.id == opened.id
    assert (again.target_id, again.document, again.client_name) == (second.id, "11144477735", "João Souza")
    assert not again.identity_confirmed
    assert targets_data.get(second.id).conversation_id == opened.id


def test_a_call_has_its_own_conversation_and_a_reconnected_stream_reuses_it(clock, make_target):
    [target], _ = targets_data.insert_new([make_target()])

    call = open_conversation(Channel.VOICE, target.phone, target=target, call_sid="CA123")

    assert call.chat_id == "voice_CA123" and call.call_sid == "CA123"
    assert call.source is ConversationSource.VOICE_CAMPAIGN
    assert open_conversation(Channel.VOICE, target.phone, target=target, call_sid="CA123").id == call.id
    assert targets_data.get(target.id).conversation_id == call.id
    with pytest.raises(InvalidInput):
        open_conversation(Channel.VOICE, target.phone, target=target)
