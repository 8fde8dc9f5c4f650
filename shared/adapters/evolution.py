"""Evolution API v2 (WhatsApp), SPEC §3: `POST /message/sendText/{instance}` with header `apikey`,
and `GET /instance/connectionState/{instance}` (`{"instance": {"state": "open"|"connecting"|"close"}}`).

Also, on the same answers: `sendTemplate` (an approved template, the `cloud` integration's
business-initiated messages), `sendMedia` (a boleto PDF as a document), `chat/markMessageAsRead` and
`GET /template/find/{instance}` (the approved templates, Meta's list as Evolution relays it).

A 400 whose `response.message[].exists` is false is definitive (`NotOnWhatsApp`). 429, 5xx and
timeouts raise `EvolutionUnavailable`: the SQS message is retried with backoff, then dead-lettered.
Evolution wraps a failed Baileys send in a 400 whose `response.message` is the error's text: "Connection
Closed" (the instance is not connected to WhatsApp) raises `InstanceDisconnected`, WhatsApp's error 463
(`NackCallerReachoutTimelocked`, the number may not reach out to new contacts for now) `ReachOutRefused`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from shared.core.config import EvolutionConfig
from shared.domain.errors import DomainError, Refused, ServiceUnavailable

if TYPE_CHECKING:
    import httpx


class NotOnWhatsApp(DomainError):
    code = "not_on_whatsapp"


class EvolutionUnavailable(ServiceUnavailable):
    code = "evolution_unavailable"


class InstanceDisconnected(EvolutionUnavailable):
    """The instance is not connected to WhatsApp: nothing can be sent until it reconnects."""

    code = "instance_disconnected"


class ReachOutRefused(Refused):
    """WhatsApp's 463: this number may not message new contacts for now (reach-out timelock)."""

    code = "reach_out_refused"


class EvolutionRejected(Refused):
    """A 4xx other than not-on-WhatsApp: our request or credentials are wrong; retrying won't help."""

    code = "evolution_rejected"


class SentMessage(NamedTuple):
    id: str | None  # None when Evolution accepted the message but its body could not be read
    remote_jid: str | None
    status: str


class ApprovedTemplate(NamedTuple):
    """A message template as Meta lists it (through Evolution's `template/find`)."""

    name: str
    language: str
    status: str  # APPROVED, PENDING, REJECTED...
    category: str | None
    body: str | None  # the body text, with its {{1}}, {{2}}... parameters


class WhatsAppSender(Protocol):
    def send_text(self, number: str, text: str, *, delay_ms: int | None = None) -> SentMessage: ...

    def connection_state(self) -> str: ...

    def send_template(self, number: str, name: str, language: str, parameters: list[str]) -> SentMessage: ...

    def send_media(
        self, number: str, *, media_url: str, file_name: str, mimetype: str, caption: str | None = None
    ) -> SentMessage: ...

    def mark_read(self, remote_jid: str, message_id: str) -> None: ...

    def templates(self) -> list[ApprovedTemplate]: ...


class EvolutionClient:
    """Evolution over httpx, imported with the first client (a worker that sends nothing never loads it)."""

    def __init__(self, config: EvolutionConfig, *, timeout: float = 10.0, client: httpx.Client | None = None):
        import httpx

        self._base = config.url
        self._instance = config.instance
        self._url = f"{config.url}/message/sendText/{config.instance}"
        self._state_url = f"{config.url}/instance/connectionState/{config.instance}"
        self._headers = {"apikey": config.api_key.get_secret_value()}
        self._http = client or httpx.Client(timeout=timeout)

    def send_text(self, number: str, text: str, *, delay_ms: int | None = None) -> SentMessage:
        body: dict[str, Any] = {"number": number, "text": text}
        if delay_ms is not None:
            body["delay"] = delay_ms
        return self._send(self._url, body)

    def send_template(self, number: str, name: str, language: str, parameters: list[str]) -> SentMessage:
        """An approved template (`cloud`): its body parameters in order, Meta's `components` shape."""
        components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}]
        body = {"number": number, "name": name, "language": language, "components": components}
        return self._send(f"{self._base}/message/sendTemplate/{self._instance}", body)

    def send_media(
        self, number: str, *, media_url: str, file_name: str, mimetype: str, caption: str | None = None
    ) -> SentMessage:
        """A document (Evolution downloads `media_url`) with its file name and an optional caption."""
        body: dict[str, Any] = {
            "number": number,
            "mediatype": "document",
            "mimetype": mimetype,
            "fileName": file_name,
            "media": media_url,
        }
        if caption:
            body["caption"] = caption
        return self._send(f"{self._base}/message/sendMedia/{self._instance}", body)

    def mark_read(self, remote_jid: str, message_id: str) -> None:
        """Mark a customer's message read (the blue ticks); `EvolutionUnavailable` when not done."""
        body = {"readMessages": [{"remoteJid": remote_jid, "fromMe": False, "id": message_id}]}
        self._request("POST", f"{self._base}/chat/markMessageAsRead/{self._instance}", body)

    def templates(self) -> list[ApprovedTemplate]:
        """The instance's message templates (Meta's list); `EvolutionUnavailable` when unknown."""
        response = self._request("GET", f"{self._base}/template/find/{self._instance}", None)
        try:
            rows = response.json()
            if isinstance(rows, dict):  # Meta's envelope, when Evolution relays it whole
                rows = rows["data"]
            return [_template(row) for row in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise EvolutionUnavailable(
                f"Evolution's template list is unreadable: {type(exc).__name__}"
            ) from None

    def _request(self, method: str, url: str, body: dict[str, Any] | None) -> httpx.Response:
        """A 2xx answer, else the error it means (as `_send`'s, without the not-on-WhatsApp case)."""
        response = self._call(method, url, body)
        if response.status_code in (200, 201):
            return response
        if response.status_code == 429 or response.status_code >= 500:
            raise EvolutionUnavailable(f"Evolution answered HTTP {response.status_code}")
        raise EvolutionRejected(f"Evolution refused the request: HTTP {response.status_code}")

    def _call(self, method: str, url: str, body: dict[str, Any] | None) -> httpx.Response:
        import httpx

        try:
            return self._http.request(method, url, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise EvolutionUnavailable(f"Evolution request failed: {type(exc).__name__}") from None

    def _send(self, url: str, body: dict[str, Any]) -> SentMessage:
        response = self._call("POST", url, body)
        if response.status_code in (200, 201):
            return _parse_sent(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise EvolutionUnavailable(f"Evolution answered HTTP {response.status_code}")
        if response.status_code == 400:
            _raise_send_error(response)
        raise EvolutionRejected(f"Evolution refused the message: HTTP {response.status_code}")

    def connection_state(self) -> str:
        """The instance's connection state as Evolution sees it: `open`, `connecting` or `close`."""
        response = self._call("GET", self._state_url, None)
        if response.status_code != 200:
            raise EvolutionUnavailable(f"Evolution answered HTTP {response.status_code} to connectionState")
        try:
            return str(response.json()["instance"]["state"])
        except (ValueError, KeyError, TypeError):
            raise EvolutionUnavailable("Evolution's connectionState answer could not be read") from None


def _parse_sent(response: httpx.Response) -> SentMessage:
    try:
        body = response.json()
        key = body["key"]
        return SentMessage(
            id=str(key["id"]), remote_jid=str(key["remoteJid"]), status=str(body.get("status", ""))
        )
    except (ValueError, KeyError, TypeError):
        # Accepted is accepted: retrying an unreadable 2xx would send the customer a second message.
        return SentMessage(id=None, remote_jid=None, status="UNKNOWN")


def _template(row: dict[str, Any]) -> ApprovedTemplate:
    body = next(
        (c.get("text") for c in row.get("components") or [] if str(c.get("type", "")).upper() == "BODY"), None
    )
    return ApprovedTemplate(
        name=str(row["name"]),
        language=str(row["language"]),
        status=str(row.get("status", "")),
        category=row.get("category"),
        body=body,
    )


def _raise_send_error(response: httpx.Response) -> None:
    """Turn a 400 to a send into its error (see the module docstring)."""
    try:
        messages = response.json()["response"]["message"]
    except (ValueError, KeyError, TypeError):
        messages = []
    if not isinstance(messages, list):
        messages = [messages]
    if any(isinstance(m, dict) and m.get("exists") is False for m in messages):
        raise NotOnWhatsApp("the number is not on WhatsApp")
    errors = " ".join(m for m in messages if isinstance(m, str))
    if "Connection Closed" in errors:
        raise InstanceDisconnected("the Evolution instance is not connected to WhatsApp")
    if "463" in errors:
        raise ReachOutRefused("WhatsApp refused to reach out (error 463)")
    raise EvolutionRejected("Evolution refused the message: HTTP 400")
