"""Twilio's webhooks (SPEC §3): call status callbacks, and the TwiML a call fetches when answered.

Both are signed by Twilio (`X-Twilio-Signature`: HMAC-SHA1 over the URL it called plus the sorted POST
parameters, keyed with TWILIO_AUTH_TOKEN) and checked with the SDK's `RequestValidator`; an unsigned or
badly signed request gets 403 and nothing else happens.

The URL checked is the *public* one: `WEBHOOK_BASE_URL` + the request's path (+ query string). Behind
API Gateway, a load balancer or a tunnel, the host and scheme the app sees are not the ones Twilio
signed, so the request's own URL would never validate. `WEBHOOK_BASE_URL` must therefore be exactly the
base the dialer gives Twilio (it builds the callback and TwiML URLs from it), with no stage prefix the
app does not see. Without it (a bare local run) the request's URL is used.

- `POST /api/voice/webhooks/twilio/status` → the form as a `CallStatusEvent` on the post-call queue,
  then 204 at once (the post-call worker does the rest).
- `POST /api/voice/webhooks/twilio/recording` → a recorded call's finished recording: its RecordingSid
  and length kept on the call's conversation (the media stays at Twilio), then 204.
- `GET|POST /api/voice/twiml/{targetId}` → `application/xml`: `<Connect><Stream>` to the voice bridge
  with the target id, the CallSid and a short-lived token the bridge verifies
  (`shared.adapters.stream_tokens`); a short goodbye in Portuguese and `<Hangup/>` for an unknown target.
- `POST /api/voice/transfer/{conversationId}/status` → the warm transfer's `<Dial action>`: the TwiML that
  ends the caller's side (a polite goodbye when nobody answered, the case queued).
- `POST /api/voice/transfer/{conversationId}/whisper` → what the agent hears before being connected.
- `POST /api/voice/menu/{conversationId}/{step}` → the keypad menu of a call whose model is down: the
  caller's `Digits` at that step → the next `<Gather>` (or the transfer, or a goodbye).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from functions.api.deps import SettingsDep
from shared.adapters.twilio_voice import is_valid_signature
from shared.core.config import Settings
from shared.core.observability import logger
from shared.domain.keypad import MenuStep
from shared.engine import calls

router = APIRouter(prefix="/api/voice", tags=["voice webhooks"])


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio called, as it signed it."""
    if not settings.webhook_base_url:
        return str(request.url)
    # The path as sent (percent-encoding kept): Twilio signs the URL it requested, not a decoded one.
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else quote(request.url.path)
    query = f"?{request.url.query}" if request.url.query else ""
    return settings.webhook_base_url.rstrip("/") + path + query


async def twilio_params(request: Request, settings: SettingsDep) -> dict[str, str]:
    """The request's POST parameters once its Twilio signature checks out (403 otherwise)."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token:
        logger.error("Twilio webhook called but TWILIO_AUTH_TOKEN is not configured")
        raise HTTPException(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            detail="the Twilio webhooks are not configured: TWILIO_AUTH_TOKEN is missing",
        )
    params: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        params = {key: value for key, value in form.items() if isinstance(value, str)}
    if not is_valid_signature(
        token, public_url(request, settings), params, request.headers.get("x-twilio-signature")
    ):
        logger.warning("Twilio webhook refused: missing or invalid signature", path=request.url.path)
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing or invalid X-Twilio-Signature")
    return params


TwilioParams = Annotated[dict[str, str], Depends(twilio_params)]


@router.post("/webhooks/twilio/status", status_code=status.HTTP_204_NO_CONTENT)
def twilio_status(params: TwilioParams) -> Response:
    """A call status (or async AMD) callback → the post-call queue."""
    calls.enqueue_call_status(params)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/webhooks/twilio/recording", status_code=status.HTTP_204_NO_CONTENT)
def twilio_recording(params: TwilioParams) -> Response:
    """A recorded call's recording-status callback → its RecordingSid on the conversation."""
    calls.store_recording(params)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/twiml/{targetId}", response_class=Response, operation_id="voice_twiml_get")
@router.post("/twiml/{targetId}", response_class=Response, operation_id="voice_twiml_post")
def twiml(
    target_id: Annotated[str, Path(alias="targetId")], params: TwilioParams, request: Request
) -> Response:
    """The answered call's instructions: stream to the voice bridge (or a polite goodbye)."""
    call_sid = params.get("CallSid") or request.query_params.get("CallSid")
    return Response(calls.call_twiml(target_id, call_sid), media_type="application/xml")


ConversationId = Annotated[str, Path(alias="conversationId", min_length=1, max_length=64)]


@router.post("/transfer/{conversationId}/status", response_class=Response)
def transfer_status(conversation_id: ConversationId, params: TwilioParams) -> Response:
    """The warm transfer's dial ended (`DialCallStatus`): what the caller hears last."""
    from shared.engine import warm_transfer  # the assistant's tools load with a call's handoff only

    twiml = warm_transfer.dial_finished(
        conversation_id, params.get("DialCallStatus", ""), params.get("DialCallDuration")
    )
    return Response(twiml, media_type="application/xml")


@router.post("/transfer/{conversationId}/whisper", response_class=Response)
def transfer_whisper(conversation_id: ConversationId, params: TwilioParams) -> Response:
    """The agent picked up: who is calling and why, before the caller is connected."""
    from shared.engine import warm_transfer

    return Response(warm_transfer.whisper_twiml(conversation_id), media_type="application/xml")


@router.post("/menu/{conversationId}/{step}", response_class=Response)
def keypad_menu(
    conversation_id: ConversationId,
    step: MenuStep,
    params: TwilioParams,
    tentativa: Annotated[int, Query(ge=0, le=10)] = 0,
) -> Response:
    """The keypad menu: the caller's `Digits` at `step` (empty when they keyed nothing)."""
    from shared.engine import voice_menu  # the assistant's tools load with a call that needs them

    twiml = voice_menu.answer(conversation_id, step, params.get("Digits", ""), tentativa)
    return Response(twiml, media_type="application/xml")
