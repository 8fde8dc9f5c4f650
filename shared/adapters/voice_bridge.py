"""The voice bridge's `/prepare` (VOICE_BRIDGE_PREPARE_URL): told when a call is answered (its TwiML
fetched), the bridge opens the call's Realtime session before Twilio starts the stream, so the
assistant's first words are ready.

Best effort and short: the TwiML answer must not wait on it (a bridge that does not answer within
`PREPARE_TIMEOUT_SECONDS` prepares the call when the stream starts, as it always can).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from shared.core.observability import logger

PREPARE_TIMEOUT_SECONDS: Final = 0.5


def prepare_call(prepare_url: str, parameters: Mapping[str, str]) -> bool:
    """Ask the bridge to prepare the call of `parameters` (the stream's own: targetId, callSid,
    token); whether it accepted. Never raises."""
    import httpx

    try:
        response = httpx.post(prepare_url, json=dict(parameters), timeout=PREPARE_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        logger.warning("voice bridge not prepared", error=type(exc).__name__)
        return False
    if response.status_code != 202:
        logger.warning("voice bridge not prepared", status=response.status_code)
        return False
    return True
