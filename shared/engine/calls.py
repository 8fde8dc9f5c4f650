"""A call's side of Twilio: the TwiML a call fetches when answered, the status callbacks handed to
the post-call queue (`shared.engine.postcall` takes them from there), the recording-status callbacks
of recorded calls (campaigns with `record_calls`), and what the voice bridge reads and writes while an
answered call lasts (its target, the conversation's transcript, its last activity)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.adapters import queues, stream_tokens, voice_bridge
from shared.adapters.twilio_voice import connect_stream_twiml, say_and_hang_up_twiml
from shared.core import clock
from shared.core.config import get_settings
from shared.core.jobs import CallStatusEvent
from shared.core.observability import logger
from shared.data import campaigns as campaigns_data
from shared.data import conversations, messages
from shared.data import targets as targets_data
from shared.domain.chat_ids import voice_chat_id
from shared.domain.errors import InvalidInput, NotFound
from shared.domain.models import Conversation, Message, Target, TargetState
from shared.engine.outreach_texts import GOODBYE

_TARGET_ID: Final = re.compile(r"[0-9A-Za-z]{1,64}")
RECORDING_DONE: Final = "completed"


class RecordingStatus(BaseModel):
    """Twilio's recording-status callback (`RecordingStatusCallback` of a recorded call): which
    recording of which call, its status and length. The media stays at Twilio."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    call_sid: str = Field(alias="CallSid", pattern=r"^CA[0-9a-fA-F]{32}$")
    recording_sid: str = Field(alias="RecordingSid", pattern=r"^RE[0-9a-fA-F]{32}$")
    recording_status: str = Field(alias="RecordingStatus", min_length=1, max_length=32)
    recording_duration: int | None = Field(default=None, alias="RecordingDuration", ge=0)


def call_twiml(target_id: str, call_sid: str | None) -> str:
    """What Twilio plays when the customer answers: our Media Stream (the voice bridge) with the
    target id, the CallSid and a short-lived token the bridge verifies; a short goodbye in Portuguese
    for an unknown target, a case no longer `calling` (concluded while the phone rang: opted out,
    a promise or a payment on another channel) or a deployment without a bridge — never an error.
    The bridge is told at once (`voice_bridge.prepare_call`), so the call's Realtime session opens
    while Twilio connects."""
    settings = get_settings()
    target = find_target(target_id)
    if target is None:
        logger.warning("TwiML asked for an unknown target", target_id=target_id[:64], call_sid=call_sid)
        return say_and_hang_up_twiml(GOODBYE)
    if target.state is not TargetState.CALLING:
        # The case moved on while the phone rang (an opt-out, a promise, a payment on another channel):
        # nobody collects on this call any more.
        logger.info("TwiML for a case no longer calling", target_id=target.id, state=target.state.value)
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


def store_recording(params: Mapping[str, str]) -> Conversation | None:
    """Keep a (signature-checked) finished recording's RecordingSid and length on its call's
    conversation; `InvalidInput` for a form that is not a recording-status callback. None when there
    is nothing to keep: the recording did not finish (`absent`, `failed`), or the call never reached
    the assistant (no conversation: a machine, a hang-up before the stream)."""
    try:
        event = RecordingStatus.model_validate(dict(params))
    except ValidationError as exc:
        fields = ", ".join(str(error["loc"][0]) for error in exc.errors())
        raise InvalidInput(f"not a Twilio recording status callback (bad or missing: {fields})") from None
    if event.recording_status != RECORDING_DONE:
        logger.info("recording not kept", call_sid=event.call_sid, recording_status=event.recording_status)
        return None
    conversation = conversations.by_chat_id(voice_chat_id(event.call_sid))
    if conversation is None:
        logger.warning("recording of a call without a conversation", call_sid=event.call_sid)
        return None
    logger.info("call recording stored", conversation_id=conversation.id, recording_sid=event.recording_sid)
    return conversations.update(
        conversation.id, recording_sid=event.recording_sid, recording_seconds=event.recording_duration
    )


def recorded(target: Target) -> bool:
    """Whether the target's campaign records its calls (the greeting then says so)."""
    try:
        return campaigns_data.get(target.campaign_id).record_calls
    except NotFound:
        return False


def find_target(target_id: str) -> Target | None:
    """The target a call was placed for, or None for an id that names none (the id comes from a
    request: Twilio's webhook or the Media Stream's parameters)."""
    if not _TARGET_ID.fullmatch(target_id):
        return None
    try:
        return targets_data.get(target_id)
    except NotFound:
        return None


def transcript(conversation_id: str) -> list[Message]:
    """The conversation's messages so far, oldest first (a call may continue a WhatsApp chat's or
    a reconnected stream's)."""
    return messages.list_for(conversation_id)


def record_line(message: Message) -> None:
    """Store one transcript line of a call; `Conflict` if it is already stored (a reconnected stream)."""
    messages.append(message)


def call_ended(conversation_id: str) -> None:
    """The call's conversation was last active now."""
    conversations.update(conversation_id, last_activity_at=clock.now())
