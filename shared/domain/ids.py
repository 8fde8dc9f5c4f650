"""Identifiers.

`new_id()` makes ULID-style ids: 26 Crockford base32 characters, a 48-bit millisecond timestamp taken
from `shared.core.clock` followed by 80 random bits, so ids sort by creation time as plain strings (message
sort keys and "newest first" listings rely on it). Ids made by one process are strictly increasing while
the clock does not go backwards, even when it stands still (a `VirtualClock`): within one millisecond
the random part is incremented, as the ULID spec's monotonic mode does.

`target_id(...)` is deterministic: the same (campaign, document) always gives the same id, so a
customer is one case per campaign however many files and invoices bring them in. So is
`conversation_id(chat_id)`: a chat has one conversation, found by its id (one read), and two webhooks
racing to open it write the same item, of which a conditional put lets one win.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import UTC, datetime, timedelta

from shared.core import clock

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {char: value for value, char in enumerate(_CROCKFORD)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RANDOM_BITS = 80
_TIME_BITS = 48
ID_LENGTH = 26
TARGET_ID_LENGTH = 20  # 100 bits of SHA-256: collisions are out of reach at any campaign size

_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def new_id() -> str:
    """A new time-sortable id (26 chars, Crockford base32) stamped with `shared.core.clock.now()`."""
    global _last_ms, _last_random
    ms = (clock.now() - _EPOCH) // timedelta(milliseconds=1)
    if not 0 <= ms < 1 << _TIME_BITS:
        raise ValueError("the clock is outside the range an id can encode")
    with _lock:
        if ms == _last_ms:
            # Same millisecond (a clock standing still): keep ordering by bumping the random part of
            # the last id instead of drawing a fresh one. A clock set backwards gets fresh ids of its
            # own time, as in the ULID spec.
            random_part = _last_random + 1
            if random_part >= 1 << _RANDOM_BITS:
                raise OverflowError("too many ids in one millisecond")
        else:
            # One bit of headroom so the monotonic increments above can never overflow in practice.
            random_part = secrets.randbits(_RANDOM_BITS - 1)
        _last_ms, _last_random = ms, random_part
    return _encode((ms << _RANDOM_BITS) | random_part, ID_LENGTH)


def id_time(id_: str) -> datetime:
    """The instant (millisecond precision, UTC) encoded in an id made by `new_id`."""
    if len(id_) != ID_LENGTH:
        raise ValueError(f"not a {ID_LENGTH}-character id: {id_!r}")
    return _EPOCH + timedelta(milliseconds=_decode(id_) >> _RANDOM_BITS)


def target_id(campaign_id: str, document: str) -> str:
    """The deterministic id of the case (target) of one customer in one campaign.

    `document` must already be normalized (digits / upper case) so that punctuation in a re-imported
    file does not produce a different id.
    """
    material = "\x1f".join((campaign_id, document))
    digest = hashlib.sha256(material.encode()).digest()
    bits = TARGET_ID_LENGTH * 5
    return _encode(int.from_bytes(digest, "big") >> (256 - bits), TARGET_ID_LENGTH)


def conversation_id(chat_id: str) -> str:
    """The deterministic id of a chat's conversation (`whatsapp_<E.164>`, `voice_<CallSid>`)."""
    digest = hashlib.sha256(("conversation\x1f" + chat_id).encode()).digest()
    bits = TARGET_ID_LENGTH * 5
    return _encode(int.from_bytes(digest, "big") >> (256 - bits), TARGET_ID_LENGTH)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def _decode(text: str) -> int:
    value = 0
    for char in text.upper():
        try:
            value = value * 32 + _DECODE[char]
        except KeyError:
            raise ValueError(f"not a Crockford base32 id: {text!r}") from None
    return value
