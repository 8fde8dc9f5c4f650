import pytest

from shared.domain.chat_ids import (
    channel_of,
    jid,
    jid_number,
    phone_from_jid,
    phone_of_chat_id,
    voice_chat_id,
    whatsapp_chat_id,
)
from shared.domain.models import Channel
from shared.domain.phones import InvalidPhone


def test_whatsapp_chat_id_round_trips_the_phone() -> None:
    chat_id = whatsapp_chat_id("5511999998888")
    assert chat_id == "whatsapp_5511999998888"
    assert phone_of_chat_id(chat_id) == "5511999998888"


def test_a_call_chat_id_carries_no_phone() -> None:
    chat_id = voice_chat_id("CA0123456789abcdef")
    assert chat_id == "voice_CA0123456789abcdef"
    assert phone_of_chat_id(chat_id) is None


def test_a_chat_id_names_its_channel() -> None:
    assert channel_of(voice_chat_id("CA0123456789abcdef")) is Channel.VOICE
    assert channel_of(whatsapp_chat_id("5511999998888")) is Channel.WHATSAPP


@pytest.mark.parametrize("chat_id", ["whatsapp_", "whatsapp_55119999x8888", "sms_5511999998888", ""])
def test_phone_of_chat_id_refuses_what_is_not_a_whatsapp_chat(chat_id: str) -> None:
    assert phone_of_chat_id(chat_id) is None


@pytest.mark.parametrize("phone", ["5511999998888", "551133334444", "5531998296801"])
def test_jid_round_trips_a_canonical_phone(phone: str) -> None:
    address = jid(phone)
    assert address == f"{phone}@s.whatsapp.net"
    assert jid_number(address) == phone
    assert phone_from_jid(address) == phone


def test_jid_number_keeps_the_account_as_whatsapp_knows_it() -> None:
    # An old account without the ninth digit is answered at that address, device suffix dropped.
    assert jid_number("553198296801:12@s.whatsapp.net") == "553198296801"
    assert jid_number("553198296801@c.us") == "553198296801"
    assert jid_number("553198296801") == "553198296801"


@pytest.mark.parametrize(
    "remote_jid", ["120363025246125486@g.us", "123456789012345@lid", "status@broadcast", "abc@s.whatsapp.net"]
)
def test_jid_number_is_none_for_addresses_that_are_not_a_user(remote_jid: str) -> None:
    assert jid_number(remote_jid) is None


@pytest.mark.parametrize(
    "jid",
    [
        "553198296801@s.whatsapp.net",
        "5531998296801@s.whatsapp.net",
        "553198296801:12@s.whatsapp.net",
        "553198296801@c.us",
    ],
)
def test_phone_from_jid_restores_the_canonical_mobile(jid: str) -> None:
    assert phone_from_jid(jid) == "5531998296801"


def test_phone_from_jid_keeps_a_landline_business_number() -> None:
    assert phone_from_jid("551133334444@s.whatsapp.net") == "551133334444"


@pytest.mark.parametrize(
    ("jid", "reason"),
    [
        ("120363025246125486@g.us", "group"),
        ("5511999998888-1596032400@g.us", "group"),
        ("123456789012345@lid", "LID"),
        ("status@broadcast", "not a WhatsApp user address"),
        ("abc@s.whatsapp.net", "does not start with the phone digits"),
        ("@s.whatsapp.net", "does not start with the phone digits"),
        ("14155550100@s.whatsapp.net", "only Brazilian numbers"),
        ("5520999998888@s.whatsapp.net", "unknown area code"),
    ],
)
def test_phone_from_jid_rejects_non_phone_addresses(jid: str, reason: str) -> None:
    with pytest.raises(InvalidPhone, match=reason):
        phone_from_jid(jid)
