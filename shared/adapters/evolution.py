"""Evolution API v2 (WhatsApp), SPEC §3: `POST /message/sendText/{instance}` with header `apikey`,
and `GET /instance/connectionState/{instance}` (`{"instance": {"state": "open"|"connecting"|"close"}}`).

A 400 whose `response.message[].exists` is false is definitive (`NotOnWhatsApp`). 429, 5xx and
timeouts raise `EvolutionUnavailable`: the SQS message is retried with backoff, then dead-lettered.
Evolution wraps a failed Baileys send in a 400 whose `response.message` is the error's text: "Connection
Closed" (the instance is not connected to WhatsApp) raises `InstanceDisconnected`, WhatsApp's error 463
(`NackCallerReachoutTimelocked`, the number may not reach out to new contacts for now) `ReachOutRefused`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

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


@dataclass(frozen=True, slots=True)
class SentMessage:
    id: str | None  # None when Evolution accepted the message but its body could not be read
    remote_jid: str | None
    status: str


class WhatsAppSender(Protocol):
    def send_text(self, number: str, text: str, *, delay_ms: int | None = None) -> SentMessage: ...

    def connection_state(self) -> str: ...


class EvolutionClient:
    """Evolution over httpx, imported with the first client (a worker that sends nothing never loads it)."""

    def __init__(self, config: EvolutionConfig, *, timeout: float = 10.0, client: httpx.Client | None = None):
        import httpx

        self._url = f"{config.url}/message/sendText/{config.instance}"
        self._state_url = f"{config.url}/instance/connectionState/{config.instance}"
        self._headers = {"apikey": config.api_key.get_secret_value()}
        self._http = client or httpx.Client(timeout=timeout)

    def send_text(self, number: str, text: str, *, delay_ms: int | None = None) -> SentMessage:
        body: dict[str, Any] = {"number": number, "text": text}
        if delay_ms is not None:
            body["delay"] = delay_ms
        import httpx

        try:
            response = self._http.post(self._url, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise EvolutionUnavailable(f"Evolution request failed: {type(exc).__name__}") from None
        if response.status_code in (200, 201):
            return _parse_sent(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise EvolutionUnavailable(f"Evolution answered HTTP {response.status_code}")
        if response.status_code == 400:
            _raise_send_error(response)
        raise EvolutionRejected(f"Evolution refused the message: HTTP {response.status_code}")

    def connection_state(self) -> str:
        """The instance's connection state as Evolution sees it: `open`, `connecting` or `close`."""
        try:
            response = self._http.get(self._state_url, headers=self._headers)
        except httpx.HTTPError as exc:
            raise EvolutionUnavailable(f"Evolution request failed: {type(exc).__name__}") from None
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
