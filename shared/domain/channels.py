"""How a channel is named to people (supervisors read it in a target's outcome details)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from shared.domain.models import Channel

CHANNEL_LABELS: Final[Mapping[Channel, str]] = MappingProxyType(
    {Channel.WHATSAPP: "WhatsApp", Channel.VOICE: "voz"}
)


def channel_label(channel: Channel) -> str:
    """The channel's Portuguese name: `WhatsApp`, `voz`."""
    return CHANNEL_LABELS[channel]
