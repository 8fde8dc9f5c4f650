from shared.domain.channels import CHANNEL_LABELS, can_reach, channel_label
from shared.domain.models import Channel


def test_every_channel_has_its_portuguese_label() -> None:
    assert set(CHANNEL_LABELS) == set(Channel)
    assert channel_label(Channel.WHATSAPP) == "WhatsApp"
    assert channel_label(Channel.VOICE) == "voz"


def test_whatsapp_reaches_only_mobiles_and_a_call_any_number() -> None:
    assert can_reach(Channel.WHATSAPP, "5511999998888")
    assert not can_reach(Channel.WHATSAPP, "551133334444")
    assert not can_reach(Channel.WHATSAPP, "not a phone")
    assert can_reach(Channel.VOICE, "551133334444")
    assert can_reach(Channel.VOICE, "5511999998888")
