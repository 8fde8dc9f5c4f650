"""A call's side of Twilio's webhooks: the TwiML a call fetches when answered, and the status
callbacks handed to the post-call queue (`shared.engine.postcall` takes them from there)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from pydantic import ValidationError

from shared.adapters import queues, stream_tokens, voice_bridge
from shared.adapters.twilio_voice import connect_stream_twiml, say_and_hang_up_twiml
from shared.core.config import get_settings
from shared.core.jobs import CallStatusEvent
from shared.core.observability import logger
from shared.data import targets as targets_data
from shared.domain.errors import InvalidInput, NotFound
from shared.domain.models import Target
from shared.engine.outreach_texts import GOODBYE

_TARGET_ID: Final = re.compile(r"[0-9A-Za-z]{1,64}")


def call_twiml(target_id: str, call_sid: str | None) -> str:
    """What Twilio plays when the customer answers: our Media Stream (the voice bridge) with the
    target id, the CallSid and a short-lived token the bridge verifies; a short goodbye in Portuguese
    for an unknown target or a deployment without a bridge — never an error. The bridge is told at
    once (`voice_bridge.prepare_call`), so the call's Realtime session opens while Twilio connects."""
    settings = get_settings()
    target = _find_target(target_id)
    if target is None:
        logger.warning("TwiML asked for an unknown target", target_id=target_id[:64], call_sid=call_sid)
        return say_and_hang_up_twiml(GOODBYE)
    if not settings.voice_bridge_ws_url:
        logger.error("VOICE_BRIDGE_WS_URL is not set: the call cannot be connected", target_id=target.id)
        return say_and_hang_up_twiml(GOODBYE)
    if settings.twilio_auth_token is None:
        logger.error("TWILIO_AUTH_TOKEN is not set: no stream token can be signed", target_id=target.id)
        return say_and_hang_up_twiml(GOODBYE)
    secret = settings.twilio_auth_token.get_secret_value()
    sid = call_sid or ""
    parameters = {"targetId": target.id, "callSid": sid, "token": stream_tokens.sign(target.id, sid, secret)}
    if sid and settings.voice_bridge_prepare_url:
        voice_bridge.prepare_call(settings.voice_bridge_prepare_url, parameters)
    return connect_stream_twiml(settings.voice_bridge_ws_url, parameters)


def enqueue_call_status(params: Mapping[str, str]) -> CallStatusEvent:
    """Put a (signature-checked) Twilio status callback on the post-call queue; `InvalidInput` for a
    form that is not one."""
    try:
        event = CallStatusEvent.model_validate(dict(params))
    except ValidationError as exc:
        fields = ", ".join(str(error["loc"][0]) for error in exc.errors())
        raise InvalidInput(f"not a Twilio call status callback (bad or missing: {fields})") from None
    queues.send("post_call", event.model_dump(by_alias=True, exclude_none=True, mode="json"))
    return event


def _find_target(target_id: str) -> Target | None:
    if not _TARGET_ID.fullmatch(target_id):
        return None
    try:
        return targets_data.get(target_id)
    except NotFound:
        return None
