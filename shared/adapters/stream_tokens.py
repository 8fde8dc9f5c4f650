"""Short-lived tokens that let the voice bridge trust a Media Stream's `targetId`.

Our TwiML hands Twilio `<Parameter name="targetId">`, `callSid` and `token`; Twilio replays them in the
stream's `start.customParameters`. Anyone can open a websocket to the bridge, so the bridge checks the
token: an HMAC-SHA256 over (target id, CallSid, expiry) keyed with TWILIO_AUTH_TOKEN — a secret only we
and Twilio hold — valid for a few minutes. Format: `<expiry epoch seconds>.<base64url digest>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Final

from shared.core import clock

DEFAULT_TTL: Final = timedelta(minutes=5)  # Twilio opens the stream within seconds of fetching TwiML
_DOMAIN: Final = b"cobranca-media-stream-v1"


def sign(
    target_id: str, call_sid: str, secret: str, *, ttl: timedelta = DEFAULT_TTL, now: datetime | None = None
) -> str:
    """A token for this target and call, expiring `ttl` from now (`shared.core.clock`)."""
    expires = int(((now or clock.now()) + ttl).timestamp())
    return f"{expires}.{_digest(target_id, call_sid, expires, secret)}"


def verify(
    token: str | None, target_id: str, call_sid: str, secret: str, *, now: datetime | None = None
) -> bool:
    """Whether `token` was signed for this target and call with `secret` and has not expired."""
    if not token or not secret:
        return False
    expires_text, dot, digest = token.partition(".")
    if not dot or not expires_text.isdigit():
        return False
    expires = int(expires_text)
    if expires < (now or clock.now()).timestamp():
        return False
    return hmac.compare_digest(digest, _digest(target_id, call_sid, expires, secret))


def _digest(target_id: str, call_sid: str, expires: int, secret: str) -> str:
    message = b"\x1f".join((_DOMAIN, target_id.encode(), call_sid.encode(), str(expires).encode()))
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")
