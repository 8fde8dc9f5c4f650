from shared.domain.channels import CHANNEL_LABELS, channel_label
from shared.domain.models import Channel


def test_every_channel_has_its_portuguese_label() -> None:
    assert set(CHANNEL_LABELS) == set(Channel)
    assert channel_label(Channel.WHATSAPP) == "WhatsApp"
    assert channel_label(Channel.VOICE) == "voz"
