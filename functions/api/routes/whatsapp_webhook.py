"""`POST /api/whatsapp/webhook`: Evolution API's webhook (SPEC §3).

Authenticated by EVOLUTION_WEBHOOK_TOKEN, as `Authorization: Bearer <token>` or the envelope's
`apikey` (constant-time comparisons); anything else is 401. The body is never parsed for a stranger:
the header is checked before the body is read, and the `apikey` is found in the raw bytes (at most
`MAX_BODY_BYTES` of them, else 413) before any JSON parsing. With no token configured nothing can be
authenticated: 500 with a detail naming the variable (a deployment fault, not the caller's; the
secret itself is never echoed). Malformed or absurdly nested JSON is 400 and an envelope that does
not match the contract 422, each with a precise detail, never a 5xx. What is queued is bounded
(`shared.core.jobs.InboundMessage`): a 1 MB text or push name is cut, never a failed enqueue.

`messages.upsert` from a customer → `shared.engine.inbound.enqueue` (FIFO, one group per chat); our own
messages (`fromMe`), groups, broadcasts and numbers we cannot reply to are acknowledged and ignored.
`messages.update` → the stored message's delivery status (`shared.engine.inbound.record_receipt`;
`updated` says whether it changed: a server ack, which is not stored, or a receipt the message had
passed, is `false`), in the Baileys integration's words (`DELIVERY_ACK`, `READ`...) or the Cloud API's
(`DELIVERED`, `READ`...). `connection.update` of our instance →
`shared.engine.whatsapp_channel` (`close` pauses WhatsApp outreach, `open` resumes it once probed). Other events → acknowledged and ignored.
No CRM or model call happens here: the answer takes milliseconds.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool

from functions.api.deps import SettingsDep
from shared.core.jobs import InboundMessage
from shared.core.observability import logger
from shared.domain.chat_ids import phone_from_jid
from shared.domain.errors import ConfigError
from shared.domain.models import DeliveryStatus
from shared.domain.phones import InvalidPhone
from shared.engine import inbound, whatsapp_channel

M = TypeVar("M", bound=BaseModel)

# Evolution's envelopes are a few KB; base64 media (when enabled) and long texts stay far below.
MAX_BODY_BYTES = 2 * 1024 * 1024
# `"apikey": "<token>"` as Evolution writes it (tokens are plain ASCII, never JSON-escaped).
_APIKEY = re.compile(rb'"apikey"\s*:\s*"([^"\\]{1,512})"')
_APIKEYS_TRIED = 4

router = APIRouter(prefix="/api/whatsapp", tags=["whatsapp"])

# Evolution's key ids are hex; SQS deduplication ids allow printable ASCII up to 128 characters.
MessageId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,128}$")]
# Baileys' statuses as Evolution names them (SERVER_ACK, DELIVERY_ACK, READ, PLAYED, ERROR) and, on the
# Cloud API integration, Meta's upper-cased (SENT, DELIVERED, READ, FAILED).
_RECEIPTS = {
    "SERVER_ACK": DeliveryStatus.SERVER_ACK,
    "SENT": DeliveryStatus.SERVER_ACK,
    "DELIVERY_ACK": DeliveryStatus.DELIVERED,
    "DELIVERED": DeliveryStatus.DELIVERED,
    "READ": DeliveryStatus.READ,
    "PLAYED": DeliveryStatus.READ,
    "ERROR": DeliveryStatus.FAILED,
    "FAILED": DeliveryStatus.FAILED,
}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Envelope(_Wire):
    event: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    instance: str | None = None
    data: dict[str, Any]
    date_time: str | None = None
    sender: str | None = None
    server_url: str | None = None
    apikey: str | None = None


class MessageKey(_Wire):
    remote_jid: Annotated[str, StringConstraints(min_length=3, max_length=200)] = Field(alias="remoteJid")
    from_me: bool = Field(default=False, alias="fromMe")
    id: MessageId
    # Newer Evolution versions give the phone JID beside a privacy "@lid" remoteJid.
    remote_jid_alt: str | None = Field(default=None, alias="remoteJidAlt")
    sender_pn: str | None = Field(default=None, alias="senderPn")


class UpsertData(_Wire):
    key: MessageKey
    push_name: str | None = Field(default=None, alias="pushName")
    message: dict[str, Any] | None = None
    message_type: str | None = Field(default=None, alias="messageType")
    message_timestamp: int | None = Field(default=None, alias="messageTimestamp")


class UpdateData(_Wire):
    key_id: MessageId = Field(alias="keyId")
    remote_jid: str | None = Field(default=None, alias="remoteJid")
    status: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class ConnectionData(_Wire):
    state: Literal["open", "connecting", "close"]
    status_reason: int | None = Field(default=None, alias="statusReason")


class WebhookAck(BaseModel):
    """`{"queued": true}`, `{"updated": true|false}`, `{"blocked": true|false}` (connection.update) or
    `{"ignored": "<reason>"}`."""

    queued: bool | None = None
    updated: bool | None = None
    blocked: bool | None = None
    ignored: str | None = None


@router.post("/webhook", response_model=WebhookAck, response_model_exclude_none=True)
async def evolution_webhook(request: Request, settings: SettingsDep) -> WebhookAck:
    """Receive one Evolution webhook envelope (see the module docstring)."""
    token = settings.evolution_webhook_token.get_secret_value() if settings.evolution_webhook_token else ""
    if not token:
        logger.error("whatsapp webhook called but EVOLUTION_WEBHOOK_TOKEN is not configured")
        raise HTTPException(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            detail="the webhook is not configured: EVOLUTION_WEBHOOK_TOKEN is missing",
        )
    by_header = _bearer_matches(request, token)
    raw = await _bounded_body(request)
    if not (by_header or _apikey_matches(raw, token)):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid webhook token (Authorization: Bearer or the body's apikey)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        payload: Any = json.loads(raw)
    except RecursionError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="JSON body nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"malformed JSON body: {exc}") from None
    envelope = _parse(Envelope, payload)
    return await run_in_threadpool(_dispatch, envelope)


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _apikey_matches(raw: bytes, token: str) -> bool:
    """Whether the raw body carries the token as an `apikey`, found without parsing the JSON."""
    expected = token.encode()
    found = (match.group(1) for match in _APIKEY.finditer(raw))
    return any(
        hmac.compare_digest(given, expected) for _, given in zip(range(_APIKEYS_TRIED), found, strict=False)
    )


async def _bounded_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, detail=f"the body is over {MAX_BODY_BYTES:,} bytes"
    )
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


def _dispatch(envelope: Envelope) -> WebhookAck:
    event = envelope.event.lower().replace("_", ".")
    try:
        if event == "messages.upsert":
            return _upsert(_parse(UpsertData, envelope.data, "data"))
        if event == "messages.update":
            return _update(_parse(UpdateData, envelope.data, "data"))
        if event == "connection.update":
            return _connection(envelope, _parse(ConnectionData, envelope.data, "data"))
    except ConfigError as exc:
        logger.error("whatsapp webhook misconfigured", reason=exc.message)
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, detail=exc.message) from None
    return WebhookAck(ignored="unhandled_event")


def _connection(envelope: Envelope, data: ConnectionData) -> WebhookAck:
    if envelope.instance and envelope.instance != whatsapp_channel.instance():
        return WebhookAck(ignored="other_instance")
    logger.info("whatsapp connection update", state=data.state, status_reason=data.status_reason)
    return WebhookAck(blocked=whatsapp_channel.on_connection_update(data.state).blocked)


def _upsert(data: UpsertData) -> WebhookAck:
    key = data.key
    if key.from_me:
        return WebhookAck(ignored="from_me")
    jid = key.remote_jid
    if jid.endswith("@g.us"):
        return WebhookAck(ignored="group")
    if jid.endswith(("@broadcast", "@newsletter")):
        return WebhookAck(ignored="broadcast")
    if jid.endswith("@lid"):
        jid = next((alt for alt in (key.remote_jid_alt, key.sender_pn) if alt), jid)
    try:
        phone = phone_from_jid(jid)
    except InvalidPhone:
        logger.info("inbound message from a number we cannot answer", message_id=key.id)
        return WebhookAck(ignored="unsupported_number")
    job = InboundMessage(
        message_id=key.id,
        remote_jid=jid,
        phone=phone,
        push_name=data.push_name,
        text=_text_of(data.message),
        message_type=data.message_type,
        timestamp=data.message_timestamp,
    )
    if not inbound.enqueue(job):
        return WebhookAck(ignored="duplicate")
    return WebhookAck(queued=True)


def _update(data: UpdateData) -> WebhookAck:
    receipt = _RECEIPTS.get(data.status.upper())
    if receipt is None:
        return WebhookAck(ignored="unhandled_status")
    return WebhookAck(updated=inbound.record_receipt(data.key_id, receipt))


def _text_of(message: dict[str, Any] | None) -> str | None:
    """The text of a text message (`conversation` or `extendedTextMessage.text`); None otherwise."""
    if not message:
        return None
    text = message.get("conversation")
    if not isinstance(text, str):
        extended = message.get("extendedTextMessage")
        text = extended.get("text") if isinstance(extended, dict) else None
    if isinstance(text, str) and text.strip():
        return text.strip()
    return None


def _parse(model: type[M], value: Any, where: str = "body") -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = [
            {"loc": [where, *error["loc"]], "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=problems) from None
