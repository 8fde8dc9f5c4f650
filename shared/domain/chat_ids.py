"""The addresses of a chat, in one place: our conversation's chat id (`whatsapp_<E.164>` for a
WhatsApp chat, `voice_<CallSid>` for a call) and Evolution's WhatsApp JID
(`5511999998888@s.whatsapp.net`), to and from a phone number."""

from __future__ import annotations

from typing import Final

from shared.domain.models import Channel
from shared.domain.phones import InvalidPhone, normalize_phone

WHATSAPP_PREFIX: Final = "whatsapp_"
VOICE_PREFIX: Final = "voice_"
USER_SERVER: Final = "s.whatsapp.net"
_USER_SERVERS: Final = frozenset({USER_SERVER, "c.us"})


def whatsapp_chat_id(phone: str) -> str:
    """The chat id of a WhatsApp number (canonical E.164 digits): `whatsapp_5511999998888`."""
    return WHATSAPP_PREFIX + phone


def voice_chat_id(call_sid: str) -> str:
    """The chat id of one call: `voice_CA…`."""
    return VOICE_PREFIX + call_sid


def channel_of(chat_id: str) -> Channel:
    """The channel of a conversation's chat id: `VOICE` for a call's (`voice_CA…`), else `WHATSAPP`."""
    return Channel.VOICE if chat_id.startswith(VOICE_PREFIX) else Channel.WHATSAPP


def phone_of_chat_id(chat_id: str) -> str | None:
    """The number a WhatsApp chat id carries (`whatsapp_5511999998888` → `5511999998888`); None for
    a call's chat id or anything else."""
    if not chat_id.startswith(WHATSAPP_PREFIX):
        return None
    phone = chat_id.removeprefix(WHATSAPP_PREFIX)
    return phone if phone.isdigit() and phone.isascii() else None


def jid(phone: str) -> str:
    """Evolution's user JID of a number: `5511999998888@s.whatsapp.net`."""
    return f"{phone}@{USER_SERVER}"


def jid_number(remote_jid: str) -> str | None:
    """The digits a user JID is addressed to, as WhatsApp knows the account (perhaps without the
    ninth digit; a multi-device suffix `:12` dropped); None for groups, `@lid` and anything else."""
    user, at, server = remote_jid.strip().partition("@")
    if at and server not in _USER_SERVERS:
        return None
    user = user.partition(":")[0]
    return user if user.isdigit() and user.isascii() else None


def phone_from_jid(remote_jid: str) -> str:
    """The canonical number of a WhatsApp user JID (`553198296801@s.whatsapp.net` → `5531998296801`).

    Raises `InvalidPhone` for groups (`@g.us`), broadcasts, privacy ids (`@lid`) and garbage.
    """
    if not isinstance(remote_jid, str):
        raise InvalidPhone(f"WhatsApp JID must be text, got {type(remote_jid).__name__}")
    user = jid_number(remote_jid)
    if user is None:
        server = remote_jid.strip().partition("@")[2]
        if server == "g.us":
            raise InvalidPhone("group chats (@g.us) have no phone number")
        if server == "lid":
            raise InvalidPhone("WhatsApp LID addresses (@lid) do not carry the phone number")
        if server and server not in _USER_SERVERS:
            raise InvalidPhone("not a WhatsApp user address (expected @s.whatsapp.net)")
        raise InvalidPhone("WhatsApp JID does not start with the phone digits")
    # JIDs always carry the country code, so the number is read as international.
    return normalize_phone("+" + user)
