"""Channels: how each is named to people (supervisors read it in a target's outcome details) and which
numbers each can reach."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from shared.domain.models import Channel
from shared.domain.phones import is_mobile

CHANNEL_LABELS: Final[Mapping[Channel, str]] = MappingProxyType(
    {Channel.WHATSAPP: "WhatsApp", Channel.VOICE: "voz"}
)


def channel_label(channel: Channel) -> str:
    """The channel's Portuguese name: `WhatsApp`, `voz`."""
    return CHANNEL_LABELS[channel]


def can_reach(channel: Channel, phone: str) -> bool:
    """Whether `channel` can reach the number: WhatsApp needs a mobile, a call reaches any number."""
    return channel is not Channel.WHATSAPP or is_mobile(phone)
