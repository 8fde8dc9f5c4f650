"""An Evolution API v2 simulator: `POST /message/sendText/{instance}` with the `apikey` header, the
201 / 400-`exists:false` / 429 answers of SPEC §3, `GET /instance/connectionState/{instance}`, and the
webhook envelopes Evolution posts back.

Knobs for tests and the sandbox: numbers that are not on WhatsApp, a sends-per-second capacity (429
beyond it), a seeded failure rate (HTTP 500 or a hang past the client's timeout), the instance's
connection (`disconnect()` / `reconnect()` post `connection.update`; a send while closed is Evolution's
400 "Connection Closed"), and `refuse_next(n)`: the next n sends meet WhatsApp's 463 refusal (a 400 whose
message is Baileys' "server returned error 463").

The Cloud API side (`EVOLUTION_INTEGRATION=cloud`): `POST /message/sendTemplate/{instance}` checked
against `templates` (the approved list, `approve_template`) as Meta checks it — an unknown name or
language, or a wrong number of body parameters, is a 400 —, `GET /template/find/{instance}`,
`POST /message/sendMedia/{instance}` (documents) and `POST /chat/markMessageAsRead/{instance}`. A
send's `delay` (typing presence) is accepted and kept on the message.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from infra.local.simulators.server import webhook_client


@dataclass(frozen=True)
class SentText:
    id: str
    number: str
    text: str
    at: float  # time.monotonic() when accepted
    delay: int | None = None  # the typing presence asked for, in ms


@dataclass(frozen=True)
class SentTemplate:
    id: str
    number: str
    name: str
    language: str
    parameters: list[str]
    text: str  # the approved body with its parameters filled in


@dataclass(frozen=True)
class SentMedia:
    id: str
    number: str
    mediatype: str
    mimetype: str | None
    file_name: str | None
    caption: str | None
    media: str


_PARAMETER = re.compile(r"\{\{(\d+)\}\}")


class EvolutionSimulator:
    def __init__(
        self,
        api_key: str = "evolution-test-key",
        instance: str = "cobranca",
        *,
        capacity_per_second: int | None = None,
        failure_rate: float = 0.0,
        hang_seconds: float = 30.0,
        seed: int = 7,
    ) -> None:
        self.api_key = api_key
        self.instance = instance
        self.capacity_per_second = capacity_per_second
        self.failure_rate = failure_rate
        self.hang_seconds = hang_seconds
        self.not_on_whatsapp: set[str] = set()
        self.sent: list[SentText] = []
        self.templates: list[dict[str, Any]] = []  # Meta's list: name, language, status, components...
        self.sent_templates: list[SentTemplate] = []
        self.sent_media: list[SentMedia] = []
        self.read: list[dict[str, Any]] = []  # the keys marked read
        # Called with each accepted message (the sandbox's simulated customers read it).
        self.on_send: Callable[[SentText], None] | None = None
        # Where Evolution posts its webhooks (`WEBHOOK_BASE_URL/api/whatsapp/webhook`) and their token.
        self.webhook_url: str | None = None
        self.webhook_token: str | None = None
        self.rejected_for_rate = 0
        self.failures_injected = 0
        self.state = "open"  # the instance's connection: open | connecting | close
        self.refusals_pending = 0  # the next sends refused with 463
        self.refused = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._window: tuple[int, int] = (0, 0)  # (second, count)
        self.app = self._build_app()

    def texts_to(self, number: str) -> list[str]:
        with self._lock:
            return [s.text for s in self.sent if s.number == number]

    def approve_template(self, name: str, language: str, body: str, *, category: str = "UTILITY") -> None:
        """Add an approved template (its body with {{1}}, {{2}}... parameters) to the instance's list."""
        with self._lock:
            self.templates.append(
                {
                    "id": secrets.token_hex(8),
                    "name": name,
                    "language": language,
                    "status": "APPROVED",
                    "category": category,
                    "components": [{"type": "BODY", "text": body}],
                }
            )

    def templates_to(self, number: str) -> list[SentTemplate]:
        with self._lock:
            return [t for t in self.sent_templates if t.number == number]

    def media_to(self, number: str) -> list[SentMedia]:
        with self._lock:
            return [m for m in self.sent_media if m.number == number]

    def customer_says(self, number: str, text: str | None, *, push_name: str = "Cliente") -> str:
        """Post the `messages.upsert` of a customer's message to `webhook_url`, as Evolution does
        (with the webhook token, retried until accepted); returns the message id."""
        message_id = secrets.token_hex(10).upper()
        envelope = messages_upsert(
            instance=self.instance,
            remote_jid=f"{number}@s.whatsapp.net",
            text=text,
            message_id=message_id,
            push_name=push_name,
        )
        self._post(envelope)
        return message_id

    def receipt(self, sent: SentText, status: str) -> None:
        """Post the `messages.update` of one of our messages (`DELIVERY_ACK`, `READ`...)."""
        self._post(
            messages_update(
                instance=self.instance,
                remote_jid=f"{sent.number}@s.whatsapp.net",
                key_id=sent.id,
                status=status,
            )
        )

    def disconnect(self, status_reason: int = 428) -> None:
        """The instance loses WhatsApp: sends fail and `connection.update` `close` is posted."""
        self.state = "close"
        self._post(connection_update(instance=self.instance, state="close", status_reason=status_reason))

    def reconnect(self) -> None:
        """The instance is back: `connection.update` `open` is posted."""
        self.state = "open"
        self._post(connection_update(instance=self.instance, state="open", status_reason=200))

    def refuse_next(self, count: int) -> None:
        """The next `count` sends meet WhatsApp's 463 (reach-out timelocked)."""
        with self._lock:
            self.refusals_pending += count

    def _post(self, envelope: dict[str, Any]) -> None:
        if not self.webhook_url or not self.webhook_token:
            raise RuntimeError("set webhook_url and webhook_token to post webhooks")
        deliver_webhook(self.webhook_url, envelope, token=self.webhook_token)

    def _admit(self) -> bool:
        """A fixed one-second window: at most `capacity_per_second` accepted sends per second."""
        if self.capacity_per_second is None:
            return True
        second = int(time.monotonic())
        current, count = self._window
        if current != second:
            current, count = second, 0
        if count >= self.capacity_per_second:
            self._window = (current, count)
            return False
        self._window = (current, count + 1)
        return True

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/instance/connectionState/{instance}")
        async def connection_state(instance: str, request: Request) -> Response:
            refused = self._gate(instance, request, None)  # 401, 404
            if refused is not None:
                return refused
            return JSONResponse({"instance": {"instanceName": instance, "state": self.state}})

        @app.post("/message/sendText/{instance}")
        async def send_text(instance: str, request: Request) -> Response:
            refused = self._gate(instance, request, None)  # 401, 404
            if refused is not None:
                return refused
            body = await request.json()
            number, text = str(body.get("number", "")), body.get("text")
            if not number or not isinstance(text, str):
                return JSONResponse(
                    {
                        "status": 400,
                        "error": "Bad Request",
                        "response": {"message": ["number and text required"]},
                    },
                    status_code=400,
                )
            with self._lock:
                failure = self.failure_rate and self._rng.random() < self.failure_rate
                hang = failure and self._rng.random() < 0.5
                if failure:
                    self.failures_injected += 1
            if hang:
                await asyncio.sleep(self.hang_seconds)
            if failure:
                return JSONResponse({"status": 500, "error": "Internal Server Error"}, status_code=500)
            with self._lock:
                refused = self._refusal(number)
                if refused is not None:
                    return refused
                message_id = secrets.token_hex(8).upper()
                delay = body.get("delay")
                accepted = SentText(
                    message_id, number, text, time.monotonic(), delay if isinstance(delay, int) else None
                )
                self.sent.append(accepted)
            if self.on_send is not None:
                self.on_send(accepted)
            return JSONResponse(
                {
                    "key": {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True, "id": message_id},
                    "message": {"extendedTextMessage": {"text": text}},
                    "messageTimestamp": str(int(time.time())),
                    "status": "PENDING",
                },
                status_code=201,
            )

        @app.post("/message/sendTemplate/{instance}")
        async def send_template(instance: str, request: Request) -> Response:
            body = await request.json()
            refused = self._gate(instance, request, body)
            if refused is not None:
                return refused
            number, name, language = str(body["number"]), body.get("name"), body.get("language")
            template = self._approved(name, language)
            if template is None:
                return _bad_request(
                    f"(#132001) Template name does not exist in the translation: {name} ({language})"
                )
            parameters = _body_parameters(body.get("components"))
            text = next(c["text"] for c in template["components"] if c["type"] == "BODY")
            expected = {int(n) for n in _PARAMETER.findall(text)}
            if parameters is None or len(parameters) != len(expected):
                return _bad_request(
                    "(#132000) Number of parameters does not match the expected number of params "
                    f"(expected {len(expected)})"
                )
            filled = _PARAMETER.sub(lambda m: parameters[int(m.group(1)) - 1], text)
            with self._lock:
                message_id = "wamid." + secrets.token_hex(12)
                self.sent_templates.append(
                    SentTemplate(message_id, number, name, language, parameters, filled)
                )
            if self.on_send is not None:
                self.on_send(SentText(message_id, number, filled, time.monotonic()))
            return _accepted(number, message_id, {"templateMessage": {"name": name}})

        @app.get("/template/find/{instance}")
        async def find_templates(instance: str, request: Request) -> Response:
            refused = self._gate(instance, request, None)
            if refused is not None:
                return refused
            with self._lock:
                return JSONResponse(list(self.templates))

        @app.post("/message/sendMedia/{instance}")
        async def send_media(instance: str, request: Request) -> Response:
            body = await request.json()
            refused = self._gate(instance, request, body)
            if refused is not None:
                return refused
            mediatype, media = body.get("mediatype"), body.get("media")
            if (
                mediatype not in ("image", "document", "video", "audio")
                or not isinstance(media, str)
                or not media
            ):
                return _bad_request("mediatype and media required")
            if mediatype == "document" and not body.get("fileName"):
                return _bad_request("fileName required for a document")
            with self._lock:
                message_id = secrets.token_hex(8).upper()
                self.sent_media.append(
                    SentMedia(
                        message_id,
                        str(body["number"]),
                        mediatype,
                        body.get("mimetype"),
                        body.get("fileName"),
                        body.get("caption"),
                        media,
                    )
                )
            return _accepted(
                str(body["number"]), message_id, {"documentMessage": {"fileName": body.get("fileName")}}
            )

        @app.post("/chat/markMessageAsRead/{instance}")
        async def mark_read(instance: str, request: Request) -> Response:
            refused = self._gate(instance, request, None)
            if refused is not None:
                return refused
            keys = (await request.json()).get("readMessages")
            if (
                not isinstance(keys, list)
                or not keys
                or not all(
                    isinstance(k, dict) and k.get("id") and k.get("remoteJid") and "fromMe" in k for k in keys
                )
            ):
                return _bad_request("readMessages: [{id, fromMe, remoteJid}] required")
            with self._lock:
                self.read.extend(keys)
            return JSONResponse({"message": "Read messages", "read": "success"}, status_code=201)

        return app

    def _gate(self, instance: str, request: Request, body: dict[str, Any] | None) -> Response | None:
        """The answers an endpoint gives before its own checks: 401, 404, and for a send's `body` (None:
        no send; sendText checks its body itself) a body without a number (400), a closed connection or
        a 463 refusal (400), a number not on WhatsApp (400 `exists: false`), the capacity's 429."""
        if request.headers.get("apikey") != self.api_key:
            return JSONResponse({"status": 401, "error": "Unauthorized"}, status_code=401)
        if instance != self.instance:
            return JSONResponse({"status": 404, "error": "Not Found"}, status_code=404)
        if body is None:
            return None
        number = str(body.get("number", ""))
        if not number:
            return _bad_request("number required")
        with self._lock:
            return self._refusal(number)

    def _refusal(self, number: str) -> Response | None:
        """What WhatsApp answers a send to `number` before accepting it (the lock held): a closed
        connection or a 463 refusal (400), a number not on WhatsApp (400 `exists: false`), the 429."""
        if self.state != "open":
            return _bad_request("Error: Connection Closed")
        if self.refusals_pending:
            self.refusals_pending -= 1
            self.refused += 1
            return _bad_request("Error: server returned error 463")
        if number in self.not_on_whatsapp:
            return JSONResponse(
                {
                    "status": 400,
                    "error": "Bad Request",
                    "response": {
                        "message": [{"jid": f"{number}@s.whatsapp.net", "exists": False, "number": number}]
                    },
                },
                status_code=400,
            )
        if not self._admit():
            self.rejected_for_rate += 1
            return JSONResponse({"status": 429, "error": "Too Many Requests"}, status_code=429)
        return None

    def _approved(self, name: object, language: object) -> dict[str, Any] | None:
        with self._lock:
            return next(
                (
                    t
                    for t in self.templates
                    if t["name"] == name and t["language"] == language and t["status"] == "APPROVED"
                ),
                None,
            )


def _body_parameters(components: object) -> list[str] | None:
    """The text parameters of a template's body component; None when malformed."""
    if not isinstance(components, list):
        return None
    parameters: list[str] = []
    for component in components:
        if not isinstance(component, dict) or str(component.get("type", "")).lower() != "body":
            continue
        for parameter in component.get("parameters") or []:
            if not isinstance(parameter, dict) or parameter.get("type") != "text":
                return None
            parameters.append(str(parameter.get("text", "")))
    return parameters


def _accepted(number: str, message_id: str, message: dict[str, Any]) -> Response:
    return JSONResponse(
        {
            "key": {"remoteJid": f"{number}@s.whatsapp.net", "fromMe": True, "id": message_id},
            "message": message,
            "messageTimestamp": str(int(time.time())),
            "status": "PENDING",
        },
        status_code=201,
    )


def _bad_request(error: str) -> Response:
    """Evolution's answer to a send Baileys failed: the error's text in `response.message`."""
    return JSONResponse(
        {"status": 400, "error": "Bad Request", "response": {"message": [error]}}, status_code=400
    )


def connection_update(*, instance: str, state: str, status_reason: int) -> dict[str, Any]:
    """The envelope Evolution posts when the instance's WhatsApp connection changes."""
    return {
        "event": "connection.update",
        "instance": instance,
        "data": {"instance": instance, "state": state, "statusReason": status_reason},
        "date_time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "server_url": "http://evolution.local",
        "apikey": None,
    }


def messages_upsert(
    *,
    instance: str,
    remote_jid: str,
    text: str | None,
    message_id: str | None = None,
    from_me: bool = False,
    push_name: str = "Cliente",
    api_key: str | None = None,
    timestamp: int | None = None,
    extended: bool = False,
) -> dict[str, Any]:
    """The envelope Evolution posts for an inbound message (`event == "messages.upsert"`)."""
    message: dict[str, Any]
    if text is None:
        message = {"imageMessage": {"mimetype": "image/jpeg", "caption": ""}}
    elif extended:
        message = {"extendedTextMessage": {"text": text}}
    else:
        message = {"conversation": text}
    return {
        "event": "messages.upsert",
        "instance": instance,
        "data": {
            "key": {
                "remoteJid": remote_jid,
                "fromMe": from_me,
                "id": message_id or secrets.token_hex(10).upper(),
            },
            "pushName": push_name,
            "message": message,
            "messageType": "conversation" if text is not None else "imageMessage",
            "messageTimestamp": timestamp or int(time.time()),
        },
        "destination": "",
        "date_time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "sender": f"{remote_jid.split('@')[0]}@s.whatsapp.net",
        "server_url": "http://evolution.local",
        "apikey": api_key,
    }


def messages_update(*, instance: str, remote_jid: str, key_id: str, status: str) -> dict[str, Any]:
    """The envelope for a delivery/read receipt (`SERVER_ACK`, `DELIVERY_ACK`, `READ`)."""
    return {
        "event": "messages.update",
        "instance": instance,
        "data": {"keyId": key_id, "remoteJid": remote_jid, "fromMe": True, "status": status},
        "date_time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "sender": remote_jid,
        "server_url": "http://evolution.local",
        "apikey": None,
    }


def deliver_webhook(url: str, envelope: dict[str, Any], *, token: str, attempts: int = 10) -> int:
    """Post an envelope as Evolution does, retrying non-2xx answers up to `attempts` times.

    Returns the number of attempts it took."""
    for attempt in range(1, attempts + 1):
        try:
            response = webhook_client().post(
                url, json=envelope, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            if 200 <= response.status_code < 300:
                return attempt
        except httpx.HTTPError:
            pass
        time.sleep(min(0.05 * attempt, 0.5))
    raise RuntimeError(f"webhook {envelope['event']} not accepted after {attempts} attempts")
